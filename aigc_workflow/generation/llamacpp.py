"""Text drafts from a GGUF model through llama.cpp: the fast path on a CPU, each draft reproducible from its seed."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_workflow.generation import prompt_cache
from aigc_workflow.generation.base import GeneratedDraft, GenerationRequest, Generator, finished_draft
from aigc_workflow.generation.prefix import PROBE_BRIEFS
from aigc_workflow.generation.prompts import PROMPT_VERSION, chat_messages, min_tokens, token_budget
from aigc_workflow.models.specs import RegisteredModel, ResolvedTextModel, resolve_text_model

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

log = logging.getLogger(__name__)

SAMPLER = "llama.cpp/top-k-top-p-min-p"
# Room for the prompt beside the longest draft the settings allow: the rules and worked examples take about
# 860 tokens, a request 150 to a few thousand (a brief may bring many long facts). 4096 tokens of Qwen2.5-1.5B's
# KV cache are about 115 MB.
_CONTEXT_MARGIN = 4096


class PromptTooLong(ValueError):
    """A brief's prompt leaves no room for its draft in the writer's context."""


class LlamaCppUnavailable(RuntimeError):
    """llama-cpp-python is not installed (the README set-up builds it)."""


class LlamaCppGenerator(Generator):
    """Drafts text with llama.cpp from a bundled GGUF (or a registered version: that GGUF plus a LoRA adapter).

    One draft at a time with its own sampler seed, so a draft depends only on its prompt and seed, never on
    the order or company it is drafted in; the prompt's shared opening stays in llama.cpp's KV cache between
    drafts, computed the same way for every draft (`_keep_only_the_prefix`).
    """

    modality = "text"
    max_batch = 1
    backend = "llama.cpp"

    def __init__(self, settings: Settings, spec: str | None = None, registered: RegisteredModel | None = None) -> None:
        self.settings = settings
        self.spec = spec or (f"registry:{registered.name}" if registered else settings.text_model)
        self.registered = registered
        self.generation = settings.generation
        self._resolved: ResolvedTextModel | None = None
        self._llama: Any = None
        self._formatter: Any = None
        self._special: tuple[str, ...] = ()
        self._banned: dict[str, list[int]] = {}
        self._prefix: list[int] = []
        self._lock = threading.Lock()
        self.load_seconds: float | None = None

    @property
    def resolved(self) -> ResolvedTextModel:
        if self._resolved is None:
            resolved = resolve_text_model(self.spec, self.settings, registered=self.registered)
            if resolved.gguf_path is None:
                raise ValueError(f"{self.spec} has no GGUF file; llama.cpp drafts only bundled GGUF models")
            self._resolved = resolved
        return self._resolved

    @property
    def model_version(self) -> str:
        return self.resolved.version

    @property
    def params(self) -> dict[str, Any]:
        g = self.generation
        return {
            "backend": self.backend,
            "prompt": PROMPT_VERSION,
            "max_new_tokens": g.max_new_tokens,
            "temperature": g.temperature,
            "top_p": g.top_p,
            "top_k": g.top_k,
            "min_p": g.min_p,
            "repeat_penalty": g.repeat_penalty,
            "forbid_placeholders": g.forbid_placeholders,
            "sampler": SAMPLER if g.temperature > 0 else "greedy",
        }

    def adapter_gguf(self) -> Path | None:
        """The registered version's LoRA as GGUF (written beside its PEFT files when it was trained)."""
        from aigc_workflow.training.lora_gguf import ensure_adapter_gguf

        adapter = self.resolved.adapter_path
        return None if adapter is None else ensure_adapter_gguf(adapter, self.resolved.gguf_path)

    def load(self) -> None:
        if self._llama is not None:
            return
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as error:
            raise LlamaCppUnavailable(
                "llama-cpp-python is not installed: run the README set-up (bash .ci/setup), which builds it, "
                "or set AIGC_TEXT_BACKEND=transformers"
            ) from error
        started = time.perf_counter()
        lora = self.adapter_gguf()
        threads = self.generation.threads or os.cpu_count() or 1
        _keep_output_streams()
        # use_mmap=False reads the weights in now: mapped, they were paged in by the first draft instead (2 s
        # idle, far more on a busy machine), outside the warm-up that overlaps the Prefect start.
        self._llama = Llama(
            model_path=str(self.resolved.gguf_path), n_ctx=self.generation.max_new_tokens + _CONTEXT_MARGIN,
            n_threads=threads, n_threads_batch=threads, n_batch=512, seed=0, verbose=False, use_mmap=False,
            lora_path=str(lora) if lora else None,
        )
        _open.add(self)
        metadata = self._llama.metadata
        template = metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError(f"{self.resolved.gguf_path.name} carries no chat template; it is not an instruct model")
        eos = self._piece(self._llama.token_eos())
        bos = self._piece(self._llama.token_bos()) if self._llama.token_bos() >= 0 else ""
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self._special = tuple(special_pieces(self._llama))
        if self.generation.forbid_placeholders:
            self._banned = banned_tokens(self._llama)
        probes = [self._tokens(self.prompt_for(GenerationRequest(brief, 0, 0))) for brief in PROBE_BRIEFS]
        self._prefix = list(os.path.commonprefix(probes))
        with self._lock:  # a draft, or the close at exit, waits for the prefill
            self._prefill_prefix(threads, lora)
        self.load_seconds = time.perf_counter() - started
        log.info("loaded %s in llama.cpp (%d threads%s) in %.2f s", self.model_version, threads,
                 ", LoRA" if lora else "", self.load_seconds)

    def close(self, wait_s: float | None = None) -> None:
        """Free the model now; with `wait_s`, give up (and leave it to the process's end) if a draft runs."""
        if not self._lock.acquire(timeout=-1 if wait_s is None else wait_s):
            return
        try:
            if self._llama is not None:
                self._llama.close()
                self._llama = None
        finally:
            self._lock.release()

    def _prefill_prefix(self, threads: int, lora: Path | None) -> None:
        """Have the shared opening (the rules and examples, about 860 tokens) evaluated in the cache now.

        Its prefill is most of a first draft's time on a CPU (17 s on two cores): done at load, it overlaps the
        Prefect start in `aigc run`'s warm-up thread, and a saved evaluation (llama.cpp's state file, keyed by
        everything it depends on) makes it a read of 25 MB in a later process. A loaded state holds the same
        numbers as a fresh evaluation, so drafts do not change.
        """
        if not self._prefix:
            return
        key = prompt_cache.state_key(self.model_version, lora, self._prefix, self._llama, threads)
        path = self.settings.models_dir / "prompt-cache" / f"{key}.bin"
        if not prompt_cache.restore(self._llama, self._prefix, path):
            self._llama.reset()
            self._llama.eval(self._prefix)
            prompt_cache.save(self._llama, self._prefix, path)

    def _piece(self, token: int) -> str:
        return self._llama.detokenize([token], special=True).decode("utf-8", errors="replace")

    def prompt_for(self, request: GenerationRequest) -> str:
        self.load()
        return self._formatter(messages=chat_messages(request.brief, self._special)).prompt

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedDraft]:
        self.load()
        drafts = []
        for request in requests:
            prompt = self.prompt_for(request)
            budget = token_budget(request.brief, self.generation.max_new_tokens)
            at_least = min_tokens(request.brief, budget)
            with self._lock:  # one llama.cpp context: drafts from several threads take turns
                try:
                    text, finish = self.complete(prompt, request.seed, budget, at_least)
                except PromptTooLong as error:
                    raise PromptTooLong(f"brief {request.brief.ref!r}: {error}") from None
            params = {**self.params, "token_budget": budget, "min_tokens": at_least}
            drafts.append(finished_draft(request, prompt, self.model_version, params, text, finish == "length"))
        return drafts

    def _tokens(self, prompt: str) -> list[int]:
        return self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def _keep_only_the_prefix(self, tokens: list[int]) -> None:
        """Leave exactly the shared prefix in llama.cpp's cache, evaluated alone, before every draft.

        llama-cpp-python reuses the longest cached prefix, which depends on the previous draft; evaluating a
        different remainder changes the numbers in the last bits and so a sampled draft (seen: the same seed
        gave another ending after another brief). With the cache cut back to the fixed prefix, every draft is
        computed the same way in any order and in any process, and the rules are still prefilled only once.
        """
        llama, size = self._llama, len(self._prefix)
        if not size or tokens[:size] != self._prefix:
            llama.reset()
            return
        if llama.n_tokens < size or list(llama.input_ids[:size]) != self._prefix:
            llama.reset()
            llama.eval(self._prefix)
        llama.n_tokens = size

    def complete(self, prompt: str, seed: int, max_tokens: int, at_least: int = 0) -> tuple[str, str]:
        """The raw answer to a rendered prompt and why it ended ("stop" at end of turn, or "length"); the end of
        turn is impossible before `at_least` new tokens."""
        g = self.generation
        tokens = self._tokens(prompt)
        if len(tokens) + max_tokens > self._llama.n_ctx():
            # llama-cpp-python would quietly shorten the draft (or raise its own error past the context):
            # say which limit it is and what to change instead.
            raise PromptTooLong(
                f"the prompt is {len(tokens)} tokens and the draft may take {max_tokens}: more than the writer's "
                f"context of {self._llama.n_ctx()} tokens; shorten the brief's topic or facts"
            )
        self._keep_only_the_prefix(tokens)
        output = self._llama.create_completion(
            prompt=tokens, max_tokens=max_tokens, temperature=g.temperature, top_p=g.top_p, top_k=g.top_k,
            min_p=g.min_p, repeat_penalty=g.repeat_penalty, seed=seed & 0xFFFFFFFF,
            stop=list(self._formatter_stops()), logits_processor=self._constraints(prompt, len(tokens) + at_least),
        )
        choice = output["choices"][0]
        return choice["text"], choice.get("finish_reason") or "stop"

    def _constraints(self, prompt: str, end_before: int) -> Any:
        """One logits processor for what a draft may not write: the banned tokens ("[" always; "@", "www" and
        "http" unless the request has them), and any end of turn or control token while the sequence is shorter
        than `end_before`.

        One processor, not llama-cpp-python's `logit_bias` beside it: given both, 0.3.x drops both (its
        `LogitsProcessorList.extend` returns None), and its bias loops in Python over thousands of tokens.
        """
        import numpy as np
        from llama_cpp import LogitsProcessorList

        banned = np.array([token for fragment, tokens in self._banned.items()
                           if fragment == "[" or fragment not in prompt.lower() for token in tokens], dtype=np.intc)
        # Below the minimum no turn may end nor a new one open: every control token (<|im_end|>, <|im_start|>,
        # ...) waits, since llama.cpp drops them from the text and a forced new turn would read as plain words.
        ends = np.array(sorted({token for token in (self._llama.token_eos(), *(
            token for piece in (*self._formatter_stops(), *self._special) for token in self._tokens(piece)))
            if token >= 0}), dtype=np.intc)

        def constrain(input_ids: Any, scores: Any) -> Any:
            if banned.size:
                scores[banned] = -np.inf
            if len(input_ids) < end_before:
                scores[ends] = -np.inf
            return scores

        return LogitsProcessorList([constrain])

    def _formatter_stops(self) -> tuple[str, ...]:
        # End-of-turn markers as text too: some GGUFs name a different EOS than the template's turn end.
        return tuple(token for token in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>")
                     if token in self._special)


def special_pieces(llama: Any) -> list[str]:
    """Every control or user-defined token's text (e.g. <|im_start|>, <tool_call>): brief text must not hold one."""
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    flags = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    pieces = []
    for token in range(llama.n_vocab()):
        if llama_cpp.llama_vocab_get_attr(vocab, token) & flags:
            piece = llama.detokenize([token], special=True).decode("utf-8", errors="ignore")
            if piece.strip():
                pieces.append(piece)
    return pieces


# What a small writer invents that no reader can check or use. Bracketed placeholders ("[Customer Name]",
# "[insert here]") were its commonest unpublishable defect, then made-up email and web addresses: tokens that
# hold these are made impossible, rather than filtered after the fact ("[" always; the others unless the
# request itself holds them, as when a brief gives the shop's address).
_BANNED_FRAGMENTS = ("[", "@", "www", "http")


def banned_tokens(llama: Any) -> dict[str, list[int]]:
    """Vocabulary ids per banned fragment (one pass over a 151k vocabulary: about 0.7 s)."""
    found: dict[str, list[int]] = {fragment: [] for fragment in _BANNED_FRAGMENTS}
    for token in range(llama.n_vocab()):
        piece = llama.detokenize([token]).decode("utf-8", errors="ignore").lower()
        for fragment in _BANNED_FRAGMENTS:
            if fragment in piece:
                found[fragment].append(token)
    return found


# Loaded generators, closed before the interpreter tears its modules down: left to the garbage collector at
# exit, a model's finaliser found llama.cpp's functions gone and printed a traceback after every healthy run.
# Weak, so a generator the worker cache lets go of is freed as before.
_open: weakref.WeakSet[LlamaCppGenerator] = weakref.WeakSet()


@atexit.register
def _close_open_models() -> None:
    for generator in list(_open):
        # A draft or prefill still running in a daemon thread (Ctrl-C): not freed under it; the OS frees it.
        generator.close(wait_s=1.0)


class _NoRedirect:
    """Stands in for llama-cpp-python's `suppress_stdout_stderr`, which takes the same `disable` argument."""

    def __init__(self, disable: bool = True) -> None:
        pass

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


_log_callback: Any = None  # kept referenced: llama.cpp calls it for the life of the process


def _keep_output_streams() -> None:
    """Route llama.cpp's log to this module's logger, and keep the process's stdout and stderr in place.

    llama-cpp-python quiets a model load with dup2 on file descriptors 1 and 2, for every thread of the
    process: a model loading in `aigc run`'s warm-up thread swallowed what the main thread printed meanwhile
    (the server line, Prefect's log). And its log callback reads llama.cpp's levels with an older numbering
    (WARN as ERROR), so a harmless vocabulary warning reached the terminal on every load. Here llama.cpp's
    errors become warnings in the log and everything else debug lines; the redirect is switched off in the
    two modules of the pinned llama-cpp-python that import it by name.
    """
    global _log_callback
    import ctypes

    import llama_cpp
    from llama_cpp import _internals, llama

    if _log_callback is None:
        @llama_cpp.llama_log_callback
        def forward(level: int, text: bytes, _: ctypes.c_void_p) -> None:
            # ggml's levels: 1 debug, 2 info, 3 warn, 4 error, 5 continuation of the previous line.
            message = text.decode("utf-8", errors="replace").rstrip()
            if message:
                log.log(logging.WARNING if level == 4 else logging.DEBUG, "llama.cpp: %s", message)

        _log_callback = forward
        llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))
    for module in (llama, _internals):
        if hasattr(module, "suppress_stdout_stderr"):
            module.suppress_stdout_stderr = _NoRedirect  # type: ignore[assignment]
