"""Convert a bundled GGUF text model once into a safetensors folder that loads in a fraction of a second."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aigc_workflow.models.specs import BUNDLED_TEXT_MODELS, bundled_text_path, file_sha256

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

log = logging.getLogger(__name__)

MARKER = ".aigc-converted.json"
LOCK_TIMEOUT_S = 900.0  # a conversion takes ~30 s on 2 cores; a waiter gives up only if something is wedged


def read_marker(target: Path) -> dict | None:
    try:
        return json.loads((target / MARKER).read_text())
    except (OSError, ValueError):
        return None


def is_converted(target: Path, gguf_sha256: str) -> bool:
    """True when `target` holds a complete conversion of the GGUF with this digest."""
    marker = read_marker(target)
    return bool(marker) and marker.get("gguf_sha256") == gguf_sha256


def ensure_bundled_text_model(settings: Settings, name: str = "smollm2-135m-instruct") -> Path:
    """The safetensors folder of a bundled text model, converting it first if needed (once, race-safe)."""
    if name not in BUNDLED_TEXT_MODELS:
        known = ", ".join(sorted(BUNDLED_TEXT_MODELS))
        raise ValueError(f"unknown bundled text model {name!r}; known: {known}")
    carrier = BUNDLED_TEXT_MODELS[name]
    gguf = carrier.gguf(settings)
    return convert_gguf(gguf, bundled_text_path(name, settings), gguf_sha256=carrier.sha256 or file_sha256(gguf))


def convert_gguf(gguf: Path, target: Path, *, gguf_sha256: str | None = None) -> Path:
    """Dequantise `gguf` into `target` (model + tokenizer as safetensors); a no-op when already done.

    The marker is written inside a temporary folder that is renamed into place, so `target` either
    does not exist or is complete: a crash mid-conversion leaves only a temp folder, removed next time.
    A file lock makes racing processes convert once; the others wait and find the result.
    """
    from filelock import FileLock

    sha = gguf_sha256 or file_sha256(gguf)
    if is_converted(target, sha):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock"), timeout=LOCK_TIMEOUT_S):
        if is_converted(target, sha):  # another process finished while we waited
            return target
        _remove_stale_temps(target)
        started = time.perf_counter()
        temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            _convert_into(gguf, temp)
            marker = {"gguf": str(gguf), "gguf_sha256": sha, "converted_at": time.time()}
            (temp / MARKER).write_text(json.dumps(marker, indent=2))
            _fsync_tree(temp)
            _swap_into_place(temp, target)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        log.info("converted %s to %s in %.1f s", gguf.name, target, time.perf_counter() - started)
    return target


def _convert_into(gguf: Path, folder: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are dequantised already; left in place, the GGUF quantizer would make save_pretrained
    # refuse or write a config that asks for a GGUF file on load.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


def _swap_into_place(temp: Path, target: Path) -> None:
    # rename() cannot replace a non-empty folder, so an outdated conversion (a new carrier version)
    # is first moved aside; both renames are atomic and happen under the lock.
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / "previous")
    os.replace(temp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale_temps(target: Path) -> None:
    # Only the lock holder creates temp folders, so any found while holding it belong to a crashed run.
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for stale in target.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    # Make the files durable before the rename publishes them, so a power cut cannot leave a
    # complete-looking folder with empty files.
    for path in folder.iterdir():
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
