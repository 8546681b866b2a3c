"""llama.cpp's evaluated prompt opening (the rules and examples) saved to disk, so a new process skips its prefill."""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def state_key(model_version: str, adapter: Path | None, tokens: list[int], llama: Any, threads: int) -> str:
    """What the evaluated cache depends on: weights, adapter, the tokens, context and batch sizes, threads.

    Threads, batch size, the build and the context's settings are in it because they change how the sums are
    done, and so the last bits of the numbers: a state computed one way must not stand in for the other.
    """
    import llama_cpp

    described = json.dumps({
        "model": model_version, "adapter": str(adapter) if adapter else None, "tokens": tokens,
        "n_ctx": llama.n_ctx(), "n_batch": llama.n_batch, "threads": threads, "llama_cpp": llama_cpp.__version__,
        # The build and the CPU features it uses (AVX2, AVX-512, ...) choose the kernels, and so the numbers.
        "system": llama_cpp.llama_print_system_info().decode(errors="replace"),
        "context": {name: getattr(llama.context_params, name, None)
                    for name in ("n_ubatch", "flash_attn_type", "type_k", "type_v", "rope_freq_base", "rope_freq_scale")},
    }, sort_keys=True, default=str)
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def restore(llama: Any, tokens: list[int], path: Path) -> bool:
    """Load a saved evaluation of exactly `tokens` into llama's cache; False when there is none that matches."""
    import llama_cpp

    if not path.exists():
        return False
    capacity = len(tokens) + 1
    loaded = (llama_cpp.llama_token * capacity)()
    count = ctypes.c_size_t(0)
    llama.reset()
    ok = llama_cpp.llama_state_load_file(llama.ctx, str(path).encode(), loaded, capacity, ctypes.byref(count))
    if not ok or list(loaded[: count.value]) != tokens:
        log.warning("prompt cache %s does not match; evaluating the prompt opening instead", path)
        llama.reset()
        return False
    # What llama-cpp-python believes is cached, so its next completion starts after these tokens.
    llama.input_ids[: len(tokens)] = tokens
    llama.n_tokens = len(tokens)
    return True


def save(llama: Any, tokens: list[int], path: Path) -> None:
    """Write llama's cache, which holds exactly `tokens` evaluated, to `path` (whole or not at all)."""
    import llama_cpp

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        array = (llama_cpp.llama_token * len(tokens))(*tokens)
        if not llama_cpp.llama_state_save_file(llama.ctx, temp.encode(), array, len(tokens)):
            raise OSError(f"llama.cpp could not write {temp}")
        os.replace(temp, path)
    except OSError as error:
        # A cache that cannot be written costs the next process a prefill, nothing else.
        log.warning("prompt cache not saved: %s", error)
        Path(temp).unlink(missing_ok=True)
