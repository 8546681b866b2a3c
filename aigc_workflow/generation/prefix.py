"""The prompt prefix every brief shares (the fixed rules): its keys and values are computed once and reused."""

from __future__ import annotations

import copy
import inspect
import os
import threading
from typing import Any

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation.prompts import render_prompt

# Two briefs that differ in every field: what their prompts share can only come from the template and rules.
PROBE_BRIEFS = (
    BriefSpec(ref="prefix-probe-a", topic="Apples"),
    BriefSpec(ref="prefix-probe-b", topic="Zebra crossings at night", audience="drivers", tone="dry",
              format="list", max_words=90, keywords=("light",), avoid=("fast",)),
)
# Below this, a shared prefix saves less than the bookkeeping costs.
MIN_TOKENS = 16


def shared_prefix_ids(tokenizer: Any) -> list[int]:
    """The token ids that begin every rendered prompt (system rules, the user turn's opening); [] if few."""
    rendered = [tokenizer(render_prompt(tokenizer, probe), add_special_tokens=False)["input_ids"] for probe in PROBE_BRIEFS]
    common = list(os.path.commonprefix(rendered))
    return common if len(common) >= MIN_TOKENS else []


class PromptPrefix:
    """Prefills the shared prefix once per model and lays batches out as prefix | padding | each prompt's rest.

    Every prompt starts with the same rules and worked examples (about 860 of some 1,000 tokens): without this,
    each row of each batch recomputes them, which is most of a batch's prefill on a CPU. The padding sits between
    the prefix and each row's own tokens and is masked out; positions follow the attention mask, so every row
    sees exactly the sequence it would see alone. Whether a prompt uses the prefix depends on that prompt
    alone (its tokens begin with the prefix), never on its batch-mates.
    """

    def __init__(self, model: Any, tokenizer: Any, device: str) -> None:
        self.model, self.device = model, device
        self._cache: Any = None
        self._lock = threading.Lock()
        # transformers renamed generate's and forward's `past_key_values` to `cache` during 5.x.
        params = inspect.signature(type(model).forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        self.ids = shared_prefix_ids(tokenizer) if _padding_in_the_middle_is_exact(model, params) else []

    def fits(self, ids: list[int]) -> bool:
        size = len(self.ids)
        return size > 0 and len(ids) > size and ids[:size] == self.ids

    def _prefilled(self) -> Any:
        with self._lock:  # task threads may share a generator: prefill once
            if self._cache is None:
                import torch
                from transformers import DynamicCache

                cache = DynamicCache(config=self.model.config)
                with torch.inference_mode():
                    prefix = torch.tensor([self.ids], device=self.device)
                    # Only the cache is wanted: logits for one position, not the whole prefix.
                    self.model(input_ids=prefix, use_cache=True, logits_to_keep=1, **{self._cache_kwarg: cache})
                self._cache = cache
        return self._cache

    def generate_kwargs(self, rows: list[list[int]], pad_id: int) -> dict[str, Any]:
        """`generate` arguments for prompts that all fit: input ids, attention mask and a copy of the cache."""
        import torch

        size = len(self.ids)
        rests = [ids[size:] for ids in rows]
        width = max(len(rest) for rest in rests)
        input_ids = [self.ids + [pad_id] * (width - len(rest)) + rest for rest in rests]
        mask = [[1] * size + [0] * (width - len(rest)) + [1] * len(rest) for rest in rests]
        cache = copy.deepcopy(self._prefilled())  # generate appends to it: every call gets its own copy
        cache.batch_repeat_interleave(len(rows))
        return {
            "input_ids": torch.tensor(input_ids, device=self.device),
            "attention_mask": torch.tensor(mask, device=self.device),
            self._cache_kwarg: cache,
        }


def _padding_in_the_middle_is_exact(model: Any, forward_params: Any) -> bool:
    """Whether pads between the prefix and a prompt's rest leave every row exactly as it would be alone.

    True for full attention with positions taken from the attention mask (Llama, SmolLM2, Qwen2 without a
    sliding window...). A sliding window counts cache slots, so pads would push prefix tokens out of it, and
    recurrent or chunked layers carry state across the pads: those models draft without prefix reuse.
    """
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    if "position_ids" not in forward_params or "logits_to_keep" not in forward_params:
        return False
    try:
        layers = DynamicCache(config=model.config).layers
    except Exception:  # noqa: BLE001 - a config DynamicCache cannot describe: no reuse, nothing lost
        return False
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)
