"""Runs from the command line: on the home's long-lived server by default, on a named server when one is set,
or on a temporary one with heartbeats and telemetry off (offline it logged an ERROR line into every run)."""

from __future__ import annotations

from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from aigc_workflow.settings import Settings
from flows.runtime import run_settings

TEMPORARY = Settings(server={"mode": "temporary"})


def test_a_run_on_a_temporary_server_sends_no_heartbeats() -> None:
    with temporary_settings(updates={PREFECT_API_URL: None}), run_settings(TEMPORARY) as server:
        assert get_current_settings().flows.heartbeat_frequency is None
        assert server.ui_url is None and server.api_url is None


def test_the_temporary_server_sends_no_telemetry() -> None:
    with temporary_settings(updates={PREFECT_API_URL: None}), run_settings(TEMPORARY):
        current = get_current_settings()
        assert current.server.analytics_enabled is False
        # the temporary server is a subprocess started with these settings as environment variables
        assert current.to_environment_variables(exclude_unset=True)["PREFECT_SERVER_ANALYTICS_ENABLED"] == "False"


def test_a_run_on_a_named_server_keeps_prefects_heartbeats_and_shows_its_ui() -> None:
    default = get_current_settings().flows.heartbeat_frequency
    named = get_current_settings().api.url
    assert named  # the session's test server
    # The named server wins over the managed default: nothing is started.
    with run_settings(Settings()) as server:
        assert get_current_settings().flows.heartbeat_frequency == default is not None
        assert server.ui_url == named.removesuffix("/api") and server.started is False
