"""Runs from the command line: heartbeats only where a long-lived server can read them, no telemetry from the
temporary server (offline it logged an ERROR line into every healthy run)."""

from __future__ import annotations

from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from flows.runtime import run_settings


def test_a_run_on_a_temporary_server_sends_no_heartbeats() -> None:
    with temporary_settings(updates={PREFECT_API_URL: None}), run_settings():
        assert get_current_settings().flows.heartbeat_frequency is None


def test_the_temporary_server_sends_no_telemetry() -> None:
    with temporary_settings(updates={PREFECT_API_URL: None}), run_settings():
        current = get_current_settings()
        assert current.server.analytics_enabled is False
        # the temporary server is a subprocess started with these settings as environment variables
        assert current.to_environment_variables(exclude_unset=True)["PREFECT_SERVER_ANALYTICS_ENABLED"] == "False"


def test_a_run_on_a_named_server_keeps_prefects_heartbeats() -> None:
    default = get_current_settings().flows.heartbeat_frequency
    assert get_current_settings().api.url  # the session's test server
    with run_settings():
        assert get_current_settings().flows.heartbeat_frequency == default is not None
