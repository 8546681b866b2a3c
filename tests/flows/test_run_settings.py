"""Runs from the command line: heartbeats only where a long-lived server can read them."""

from __future__ import annotations

from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from flows.runtime import run_settings


def test_a_run_on_a_temporary_server_sends_no_heartbeats() -> None:
    with temporary_settings(updates={PREFECT_API_URL: None}), run_settings():
        assert get_current_settings().flows.heartbeat_frequency is None


def test_a_run_on_a_named_server_keeps_prefects_heartbeats() -> None:
    default = get_current_settings().flows.heartbeat_frequency
    assert get_current_settings().api.url  # the session's test server
    with run_settings():
        assert get_current_settings().flows.heartbeat_frequency == default is not None
