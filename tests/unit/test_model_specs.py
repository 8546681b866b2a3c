"""Model specs: parsing, resolution to a loadable source and version, and the once-only GGUF conversion cache."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest

from aigc_workflow.models import bundled, convert
from aigc_workflow.models.specs import ModelSpec, RegisteredModel, parse_spec, resolve_text_model
from aigc_workflow.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def fake_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in bundled GGUF, so nothing here reads or converts real weights."""
    path = tmp_path / "fake.gguf"
    path.write_bytes(b"GGUF fake weights")
    monkeypatch.setattr(bundled, "smollm2_gguf", lambda: path)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bundled:smollm2-135m-instruct", ModelSpec("bundled", "smollm2-135m-instruct")),
        ("registry:news-v3", ModelSpec("registry", "news-v3")),
        ("HuggingFaceTB/SmolLM2-135M-Instruct", ModelSpec("hub", "HuggingFaceTB/SmolLM2-135M-Instruct")),
        ("org/name@v1.0", ModelSpec("hub", "org/name", "v1.0")),
        ("gpt2", ModelSpec("hub", "gpt2")),
        ("org/name@refs/pr/3", ModelSpec("hub", "org/name", "refs/pr/3")),
    ],
)
def test_parse(text, expected):
    assert parse_spec(text) == expected


def test_parse_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert parse_spec("/opt/models/x") == ModelSpec("local", "/opt/models/x")
    monkeypatch.chdir(tmp_path)
    assert parse_spec("./mine") == ModelSpec("local", str(tmp_path / "mine"))
    # An existing folder wins over the hub reading of "org/name".
    (tmp_path / "org" / "name").mkdir(parents=True)
    assert parse_spec("org/name") == ModelSpec("local", str(tmp_path / "org" / "name"))


@pytest.mark.parametrize("text", ["", "  ", "bundled:", "registry:", "bad id!", "org/name@", "a/b/c", "org/../x"])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        parse_spec(text)


def test_bundled_version_is_the_gguf_digest(settings, fake_gguf):
    resolved = resolve_text_model("bundled:smollm2-135m-instruct", settings)
    digest = hashlib.sha256(fake_gguf.read_bytes()).hexdigest()
    assert resolved.version == f"bundled:smollm2-135m-instruct@{digest[:12]}"
    assert resolved.source == str(settings.models_dir / "smollm2-135m-instruct")
    assert resolved.bundled_name == "smollm2-135m-instruct"
    assert resolved.gguf_sha256 == digest and resolved.adapter_path is None


def test_unknown_bundled_name_lists_the_known_ones(settings):
    with pytest.raises(ValueError, match="bundled:smollm2-135m-instruct"):
        resolve_text_model("bundled:gpt-17", settings)


def test_hub_version_names_the_revision(settings, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    assert resolve_text_model("org/name@v2", settings).version == "org/name@v2"
    unpinned = resolve_text_model("org/name", settings)
    assert (unpinned.version, unpinned.revision, unpinned.source) == ("org/name@main", None, "org/name")
    # A branch already in the local cache is pinned to its commit, for the version and the load alike.
    commit = "a" * 40
    refs = tmp_path / "hf" / "models--org--name" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text(commit)
    pinned = resolve_text_model("org/name", settings)
    assert (pinned.version, pinned.revision) == (f"org/name@{commit}", commit)


def test_local_version_follows_the_contents(settings, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"one")
    first = resolve_text_model(str(folder), settings)
    assert first.source == str(folder) and first.version.startswith(f"local:{folder}@")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "x.lock").write_text("")
    assert resolve_text_model(str(folder), settings).version == first.version
    (folder / "model.safetensors").write_bytes(b"two")
    assert resolve_text_model(str(folder), settings).version != first.version
    with pytest.raises(ValueError, match="does not exist"):
        resolve_text_model(str(tmp_path / "missing"), settings)


def test_registry_needs_the_looked_up_version(settings, fake_gguf, tmp_path):
    with pytest.raises(ValueError, match="registered="):
        resolve_text_model("registry:news-v3", settings)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"lora")
    wrong = RegisteredModel("other", "bundled:smollm2-135m-instruct", adapter)
    with pytest.raises(ValueError, match="does not match"):
        resolve_text_model("registry:news-v3", settings, registered=wrong)
    with pytest.raises(ValueError, match="not a registry"):
        resolve_text_model("bundled:smollm2-135m-instruct", settings, registered=wrong)


def test_registry_resolves_base_plus_adapter(settings, fake_gguf, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"lora")
    registered = RegisteredModel("news-v3", "bundled:smollm2-135m-instruct", adapter)
    resolved = resolve_text_model("registry:news-v3", settings, registered=registered)
    base = resolve_text_model("bundled:smollm2-135m-instruct", settings)
    assert resolved.source == base.source and resolved.bundled_name == "smollm2-135m-instruct"
    assert resolved.adapter_path == adapter.resolve()
    assert resolved.version.startswith("registry:news-v3@") and resolved.version.endswith(f"+{base.version}")
    no_adapter = RegisteredModel("news-v3", "bundled:smollm2-135m-instruct")
    assert resolve_text_model("registry:news-v3", settings, registered=no_adapter).version == (
        f"registry:news-v3+{base.version}"
    )
    missing = RegisteredModel("news-v3", "bundled:smollm2-135m-instruct", tmp_path / "gone")
    with pytest.raises(ValueError, match="adapter folder"):
        resolve_text_model("registry:news-v3", settings, registered=missing)
    nested = RegisteredModel("news-v3", "registry:older")
    with pytest.raises(ValueError, match="cannot be a base"):
        resolve_text_model("registry:news-v3", settings, registered=nested)


# --- conversion cache, with the slow dequantisation replaced by a recorder ---------------------------------


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []

    def fake_convert(gguf: Path, folder: Path) -> None:
        calls.append(folder)
        time.sleep(0.05)  # long enough for racing threads to overlap
        (folder / "model.safetensors").write_bytes(gguf.read_bytes())

    monkeypatch.setattr(convert, "_convert_into", fake_convert)
    return calls


def test_conversion_happens_once(settings, fake_gguf, conversions):
    target = convert.ensure_bundled_text_model(settings)
    assert target == settings.models_dir / "smollm2-135m-instruct"
    assert (target / "model.safetensors").read_bytes() == fake_gguf.read_bytes()
    marker = convert.read_marker(target)
    assert marker["gguf_sha256"] == hashlib.sha256(fake_gguf.read_bytes()).hexdigest()
    assert convert.ensure_bundled_text_model(settings) == target
    assert len(conversions) == 1
    leftovers = [p.name for p in settings.models_dir.iterdir() if p.name.startswith(".") and "tmp" in p.name]
    assert leftovers == []


def test_racing_callers_convert_once(settings, fake_gguf, conversions):
    results, errors = [], []

    def call() -> None:
        try:
            results.append(convert.ensure_bundled_text_model(settings))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(set(results)) == 1
    assert len(conversions) == 1


def test_a_crash_leaves_no_half_written_cache(settings, fake_gguf, monkeypatch):
    def crash(gguf: Path, folder: Path) -> None:
        (folder / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("killed mid-conversion")

    monkeypatch.setattr(convert, "_convert_into", crash)
    with pytest.raises(RuntimeError):
        convert.ensure_bundled_text_model(settings)
    assert not (settings.models_dir / "smollm2-135m-instruct").exists()
    assert [p for p in settings.models_dir.iterdir() if p.is_dir()] == []


def test_stale_temp_folders_are_cleaned_and_a_new_gguf_reconverts(settings, fake_gguf, conversions):
    stale = settings.models_dir / ".smollm2-135m-instruct.tmp-dead"
    stale.mkdir(parents=True)
    target = convert.ensure_bundled_text_model(settings)
    assert not stale.exists()
    fake_gguf.write_bytes(b"GGUF newer weights")
    time.sleep(0.01)
    assert convert.ensure_bundled_text_model(settings) == target
    assert len(conversions) == 2
    assert (target / "model.safetensors").read_bytes() == b"GGUF newer weights"
    assert [p.name for p in settings.models_dir.iterdir() if p.is_dir()] == ["smollm2-135m-instruct"]


def test_unknown_bundled_conversion(settings):
    with pytest.raises(ValueError, match="known: .*smollm2-135m-instruct"):
        convert.ensure_bundled_text_model(settings, "nope")
