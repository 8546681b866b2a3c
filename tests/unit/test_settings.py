"""Settings: defaults, AIGC_ environment variables, aigc.toml and per-channel gates."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_workflow.settings import Bound, Settings


def test_defaults_are_embedded_and_offline(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.db_url == f"sqlite:///{(tmp_path / 'aigc.db').resolve()}"
    assert settings.text_model == "bundled:qwen2.5-coder-1.5b-instruct"
    assert settings.text_backend == "auto"
    assert settings.toxicity_backend == "classic"
    assert settings.review_mode == "auto"


def test_environment_overrides_with_prefix_and_nesting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIGC_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("AIGC_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/x")
    monkeypatch.setenv("AIGC_GENERATION__MAX_NEW_TOKENS", "33")
    settings = Settings()
    assert settings.home == tmp_path / "h"
    assert settings.db_url == "postgresql+psycopg://u@127.0.0.1/x"
    assert settings.generation.max_new_tokens == 33


def test_toml_file_with_per_channel_gates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "aigc.toml"
    config.write_text(
        'candidates = 3\n[gate]\nrelevance = { min = 0.4 }\n'
        '[channel_gates.kids]\ntoxicity = { max = 0.05 }\n'
    )
    monkeypatch.setenv("AIGC_CONFIG", str(config))
    settings = Settings(home=tmp_path)
    assert settings.candidates == 3
    assert settings.gate["relevance"] == Bound(min=0.4)
    kids = settings.gate_for("kids")
    assert kids["toxicity"] == Bound(max=0.05) and kids["relevance"] == Bound(min=0.4)
    other = settings.gate_for("other")
    assert other["relevance"] == Bound(min=0.4) and other["toxicity"] == Bound(max=0.5)


def test_environment_beats_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "aigc.toml"
    config.write_text("candidates = 3\n")
    monkeypatch.setenv("AIGC_CONFIG", str(config))
    monkeypatch.setenv("AIGC_CANDIDATES", "5")
    assert Settings(home=tmp_path).candidates == 5


def test_unknown_keys_and_bad_values_are_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "aigc.toml"
    config.write_text("candidatez = 3\n")
    monkeypatch.setenv("AIGC_CONFIG", str(config))
    with pytest.raises(ValueError, match="candidatez"):
        Settings(home=tmp_path)
    monkeypatch.setenv("AIGC_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("AIGC_REVIEW_MODE", "sometimes")
    with pytest.raises(ValueError, match="review_mode"):
        Settings(home=tmp_path)


def test_a_partial_gate_table_keeps_every_other_default_bound(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from aigc_workflow.settings import default_gate

    config = tmp_path / "aigc.toml"
    config.write_text("[gate]\ntoxicity = { max = 0.3 }\n")
    monkeypatch.setenv("AIGC_CONFIG", str(config))
    gate = Settings(home=tmp_path).gate
    assert gate["toxicity"] == Bound(max=0.3)
    assert {name: bound for name, bound in gate.items() if name != "toxicity"} == {
        name: bound for name, bound in default_gate().items() if name != "toxicity"
    }


def test_gate_bounds_for_unknown_scorers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scorer.*toxicty"):
        Settings(home=tmp_path, gate={"toxicty": Bound(max=0.1)})
    with pytest.raises(ValueError, match="unknown scorer.*relevence"):
        Settings(home=tmp_path, channel_gates={"kids": {"relevence": Bound(min=0.5)}})


def test_unknown_scorer_names_are_refused_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scorer.*toxcity"):
        Settings(home=tmp_path, text_scorers=["relevance", "toxcity"])
    with pytest.raises(ValueError, match="unknown scorer.*clipp"):
        Settings(home=tmp_path, image_scorers=["clipp"])
