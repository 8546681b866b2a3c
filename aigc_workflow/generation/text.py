"""Text drafts from a transformers causal LM: batched, the shared rules prefilled once, each draft reproducible from its own seed."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_workflow.generation.base import GeneratedDraft, GenerationRequest, Generator, finished_draft
from aigc_workflow.generation.prefix import PromptPrefix
from aigc_workflow.generation.prompts import PROMPT_VERSION, render_prompt
# Re-exported: the sampler is part of this module's public API; it lives apart so it imports nothing of the engine.
from aigc_workflow.generation.sampling import GREEDY, SAMPLER, gumbel_noise, make_seeded_sampler, seeded_pick  # noqa: F401
from aigc_workflow.models.specs import RegisteredModel, ResolvedTextModel, resolve_text_model

if TYPE_CHECKING:

    from aigc_workflow.settings import Settings

log = logging.getLogger(__name__)


class TextGenerator(Generator):
    """Drafts text for briefs with a causal LM named by a model spec (bundled, hub id, folder, registry)."""

    modality = "text"

    def __init__(self, settings: Settings, spec: str | None = None, registered: RegisteredModel | None = None) -> None:
        self.settings = settings
        self.spec = spec or (f"registry:{registered.name}" if registered else settings.text_model)
        self.registered = registered
        self.generation = settings.generation
        self._resolved: ResolvedTextModel | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._prefix: PromptPrefix | None = None
        self.device: str | None = None
        self.dtype: Any = None
        self.load_seconds: float | None = None

    @property
    def resolved(self) -> ResolvedTextModel:
        # Resolved lazily but without loading weights, so a flow can build cache keys before load().
        if self._resolved is None:
            self._resolved = resolve_text_model(self.spec, self.settings, registered=self.registered)
        return self._resolved

    @property
    def model_version(self) -> str:
        return self.resolved.version

    @property
    def sampler(self) -> str:
        return GREEDY if self.generation.temperature == 0 else SAMPLER

    @property
    def params(self) -> dict[str, Any]:
        return {
            "backend": "transformers",
            "prompt": PROMPT_VERSION,
            "max_new_tokens": self.generation.max_new_tokens,
            "temperature": self.generation.temperature,
            "top_p": self.generation.top_p,
            "sampler": self.sampler,
        }

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    def _pick_device(self) -> tuple[str, Any]:
        import torch

        wanted = self.settings.device
        if wanted == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("settings.device is 'cuda' but torch sees no CUDA device")
        if wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available()):
            return "cuda", torch.bfloat16
        # bf16 matmuls are slow on most CPUs and half precision is unsupported for some ops there.
        return "cpu", torch.float32

    def load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForCausalLM, AutoTokenizer

        started = time.perf_counter()
        resolved = self.resolved
        if resolved.bundled_name is not None:
            from aigc_workflow.models.convert import ensure_bundled_text_model

            ensure_bundled_text_model(self.settings, resolved.bundled_name)
        self.device, self.dtype = self._pick_device()
        model = AutoModelForCausalLM.from_pretrained(
            resolved.source, revision=resolved.revision, dtype=self.dtype, attn_implementation="sdpa"
        )
        tokenizer_source = resolved.source
        if resolved.adapter_path is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(resolved.adapter_path))
            # Merging folds the LoRA deltas into the base weights: no adapter overhead per token.
            model = model.merge_and_unload()
            if (Path(resolved.adapter_path) / "tokenizer_config.json").is_file():
                tokenizer_source = str(resolved.adapter_path)
        tokenizer_revision = resolved.revision if tokenizer_source == resolved.source else None
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source, revision=tokenizer_revision)
        # Left padding keeps every prompt's last token in the last column, where generation continues.
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.to(self.device)
        model.eval()
        self._model, self._tokenizer = model, tokenizer
        self._prefix = PromptPrefix(model, tokenizer, self.device)  # prefilled on first use
        self.load_seconds = time.perf_counter() - started
        log.info("loaded %s on %s/%s in %.2f s", self.model_version, self.device, self.dtype, self.load_seconds)

    def prompt_for(self, request: GenerationRequest) -> str:
        return render_prompt(self.tokenizer, request.brief)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedDraft]:
        self.load()
        prompts = [self.prompt_for(request) for request in requests]
        token_ids = self.generate_ids(prompts, [request.seed for request in requests])
        drafts = []
        for request, prompt, ids in zip(requests, prompts, token_ids, strict=True):
            text = self._tokenizer.decode(ids, skip_special_tokens=True)
            hit_limit = len(ids) >= self.generation.max_new_tokens
            drafts.append(finished_draft(request, prompt, self.model_version, self.params, text, hit_limit))
        return drafts

    def generate_ids(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[list[int]]:
        """The new token ids for each prompt (prompt stripped, stopped at end-of-sequence), in order."""
        self.load()
        if len(prompts) != len(seeds):
            raise ValueError("one seed per prompt is needed")
        # The chat template already wrote any BOS/role markers; adding special tokens again would double them.
        rows = [self._tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        # Each draft is independent of its batch-mates, so similar lengths can share a batch: less padding.
        order = sorted(range(len(prompts)), key=lambda i: len(rows[i]))
        results: list[list[int]] = [[] for _ in prompts]
        size = self.generation.batch_size
        start = 0
        while start < len(order):
            chunk = order[start : start + size]
            try:
                outputs = self._generate_chunk([rows[i] for i in chunk], [seeds[i] for i in chunk])
            except Exception as error:
                if len(chunk) == 1 or not _is_out_of_memory(error):
                    raise
                # Drafts do not depend on their batch-mates, so a smaller chunk gives the same drafts.
                size = _shrink_after_oom(len(chunk))
                continue
            for index, ids in zip(chunk, outputs, strict=True):
                results[index] = ids
            start += len(chunk)
        return results

    def _generate_chunk(self, rows: list[list[int]], seeds: list[int]) -> list[list[int]]:
        """New tokens for prompt token rows: those that begin with the shared prefix reuse its prefill."""
        prefix = self._prefix if self.generation.reuse_prompt_prefix else None
        fits = [prefix is not None and prefix.fits(ids) for ids in rows]
        outputs: list[list[int]] = [[] for _ in rows]
        for uses_prefix in (True, False):
            group = [i for i, fit in enumerate(fits) if fit == uses_prefix]
            if not group:
                continue
            group_rows = [rows[i] for i in group]
            if uses_prefix:
                inputs = prefix.generate_kwargs(group_rows, self._tokenizer.pad_token_id)  # type: ignore[union-attr]
            else:
                # Left padding (set at load) keeps every prompt's last token in the last column.
                inputs = self._tokenizer.pad({"input_ids": group_rows}, padding=True, return_tensors="pt")
                inputs = {name: tensor.to(self.device) for name, tensor in inputs.items()}
            for i, ids in zip(group, self._generate(inputs, [seeds[i] for i in group]), strict=True):
                outputs[i] = ids
        return outputs

    def _generate(self, inputs: dict[str, Any], seeds: list[int]) -> list[list[int]]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        tokenizer, model = self._tokenizer, self._model
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = tokenizer.eos_token_id
        # A fresh config: the model's own generation_config may carry sampling defaults or penalties that
        # would change the distribution behind our sampler's back.
        config = GenerationConfig(
            max_new_tokens=self.generation.max_new_tokens,
            do_sample=False,
            num_beams=1,
            eos_token_id=eos,
            pad_token_id=tokenizer.pad_token_id,
        )
        processors = LogitsProcessorList()
        if self.generation.temperature > 0:
            processors.append(make_seeded_sampler(seeds, self.generation.temperature, self.generation.top_p))
        with torch.inference_mode():
            output = model.generate(**inputs, generation_config=config, logits_processor=processors)
        new_tokens = output[:, inputs["input_ids"].shape[1] :].tolist()
        stop = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.pad_token_id}
        return [_until_stop(row, stop) for row in new_tokens]


def _is_out_of_memory(error: BaseException) -> bool:
    import torch

    candidates = (getattr(torch, "OutOfMemoryError", None), getattr(torch.cuda, "OutOfMemoryError", None))
    kinds = tuple(kind for kind in candidates if kind is not None)
    return bool(kinds) and isinstance(error, kinds)


def _shrink_after_oom(size: int) -> int:
    """Free the cached blocks the failed chunk left behind and halve the chunk (README "Faults")."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    smaller = max(1, size // 2)
    log.warning("out of GPU memory generating %d drafts at once; retrying %d at a time", size, smaller)
    return smaller


def _until_stop(ids: list[int], stop: set[int]) -> list[int]:
    for position, token in enumerate(ids):
        if token in stop:
            return ids[:position]
    return ids
