"""Write a PEFT LoRA adapter as a GGUF adapter, so a version trained with transformers drafts through llama.cpp."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# Derived from the PEFT files, so it is hidden: the version digest (models.specs.folder_sha256) skips dot
# files, and a version stays the same whether or not its GGUF copy was written yet.
ADAPTER_GGUF = ".lora.gguf"
# Architectures whose GGUF q/k rows llama.cpp's converter permutes (rotary layout): LoRA B must follow.
_PERMUTED_QK = {"llama"}
_SUPPORTED = {"llama", "qwen2", "qwen3", "gemma3"}


class AdapterConversionError(ValueError):
    """An adapter llama.cpp could not apply as it is (an unknown architecture or target module)."""


def ensure_adapter_gguf(adapter_dir: Path, base_gguf: Path | None) -> Path:
    """The adapter's GGUF copy, written once (atomically, under a lock) from its PEFT safetensors."""
    from filelock import FileLock

    target = adapter_dir / ADAPTER_GGUF
    if target.is_file():
        return target
    if base_gguf is None:
        raise AdapterConversionError(f"adapter {adapter_dir} has no GGUF base model to convert against")
    with FileLock(str(adapter_dir / f"{ADAPTER_GGUF}.lock"), timeout=600):
        if not target.is_file():
            write_adapter_gguf(adapter_dir, base_gguf, target)
    return target


def base_architecture(base_gguf: Path) -> tuple[str, int, int, int]:
    """(architecture, block count, attention heads, key/value heads) read from the base GGUF's header."""
    from gguf import GGUFReader

    reader = GGUFReader(str(base_gguf))

    def value(key: str) -> Any:
        field = reader.get_field(key)
        if field is None:
            raise AdapterConversionError(f"{base_gguf.name} has no {key}")
        return field.contents()

    arch = str(value("general.architecture"))
    heads = int(value(f"{arch}.attention.head_count"))
    kv_field = reader.get_field(f"{arch}.attention.head_count_kv")
    return arch, int(value(f"{arch}.block_count")), heads, int(kv_field.contents()) if kv_field else heads


def write_adapter_gguf(adapter_dir: Path, base_gguf: Path, target: Path) -> None:
    """Map each lora_A/lora_B pair to its GGUF tensor name (blk.N.attn_q.weight.lora_a, ...) and write them."""
    import gguf
    from safetensors.numpy import load_file

    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    if config.get("use_rslora") or config.get("use_dora"):
        raise AdapterConversionError("rsLoRA and DoRA adapters are not supported by this converter")
    arch, blocks, heads, kv_heads = base_architecture(base_gguf)
    if arch not in _SUPPORTED:
        raise AdapterConversionError(f"LoRA conversion for architecture {arch!r} is not supported")
    names = gguf.get_tensor_name_map(_model_arch(arch), blocks)
    weights = load_file(str(adapter_dir / "adapter_model.safetensors"))
    tensors: dict[str, Any] = {}
    for key, array in sorted(weights.items()):
        for side in ("lora_A", "lora_B"):
            marker = f".{side}."
            if marker not in key:
                continue
            module = key.split(marker)[0].removeprefix("base_model.model.")
            mapped = names.get_name(module)
            if mapped is None:
                raise AdapterConversionError(f"no GGUF tensor for adapter module {module!r}")
            data = array.astype("float32")
            if side == "lora_B" and arch in _PERMUTED_QK and mapped.endswith(("attn_q", "attn_k")):
                data = _permute_rows(data, heads if mapped.endswith("attn_q") else kv_heads)
            tensors[f"{mapped}.weight.lora_{side[-1].lower()}"] = data
    if not tensors:
        raise AdapterConversionError(f"{adapter_dir} holds no LoRA weights")
    temp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    try:
        writer = gguf.GGUFWriter(str(temp), arch)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
        for name, data in tensors.items():
            writer.add_tensor(name, data)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _model_arch(arch: str) -> Any:
    import gguf

    for member, name in gguf.MODEL_ARCH_NAMES.items():
        if name == arch:
            return member
    raise AdapterConversionError(f"gguf does not know architecture {arch!r}")


def _permute_rows(data: Any, heads: int) -> Any:
    """Reorder output rows the way the GGUF conversion reordered q/k weights for rotary embeddings."""
    rows = data.shape[0]
    return data.reshape(heads, 2, rows // heads // 2, *data.shape[1:]).swapaxes(1, 2).reshape(data.shape)
