"""Fakes for tests and benchmarks: an echo generator, scripted scorers, random-weight checkpoints (never used by default)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aigc_workflow.generation.base import GeneratedDraft, GenerationRequest, Generator
from aigc_workflow.scoring.base import ModelUnavailable, ScoreResult, ScoringContext, ScoringItem


class EchoGenerator(Generator):
    """Writes a deterministic sentence from the brief; optionally sleeps to mimic model latency."""

    def __init__(self, delay_s: float = 0.0, log_path: str | None = None) -> None:
        self.delay_s = delay_s
        self.log_path = log_path  # crash tests read it to prove which drafts a run generated
        self.loaded = 0
        self.calls: list[int] = []

    @property
    def model_version(self) -> str:
        return "fake:echo@1"

    @property
    def params(self) -> dict[str, Any]:
        return {"kind": "echo"}

    def load(self) -> None:
        self.loaded += 1

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedDraft]:
        self.calls.append(len(requests))
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.writelines(f"{r.brief.ref}#{r.candidate_index}\n" for r in requests)
        drafts = []
        for request in requests:
            brief = request.brief
            words = " ".join(brief.keywords)
            text = f"{brief.topic}. Candidate {request.candidate_index} (seed {request.seed}). {words}".strip()
            drafts.append(
                GeneratedDraft(request, prompt=f"Write about {brief.topic}", model_version=self.model_version,
                               params=self.params, text=text)
            )
        return drafts


class ScriptedScorer:
    """A scorer whose values come from a function of the item; can be told to fail or lack its model."""

    modality = "text"

    def __init__(
        self,
        name: str,
        value: float | Callable[[ScoringItem], float] = 1.0,
        *,
        raises: Exception | None = None,
        unavailable: bool = False,
        delay_s: float = 0.0,
    ) -> None:
        self.name = name
        self._value = value
        self._raises = raises
        self._unavailable = unavailable
        self._delay_s = delay_s

    def load(self) -> None:
        if self._unavailable:
            raise ModelUnavailable(f"{self.name}: no weights (scripted)")

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        if self._delay_s:
            time.sleep(self._delay_s)
        if self._raises is not None:
            raise self._raises
        results = []
        for item in items:
            value = self._value(item) if callable(self._value) else self._value
            results.append(ScoreResult(self.name, float(value), "fake:scripted", "1"))
        return results


def fake_generator(spec: str) -> EchoGenerator:
    """`fake:echo`, `fake:echo?delay=0.05` (seconds per generate call), `&log=PATH` (appends ref#index per draft)."""
    name, _, query = spec.removeprefix("fake:").partition("?")
    if name != "echo":
        raise ValueError(f"unknown fake generator {spec!r}; use fake:echo[?delay=SECONDS]")
    options = dict(part.split("=", 1) for part in query.split("&") if part)
    return EchoGenerator(delay_s=float(options.get("delay", 0.0)), log_path=options.get("log"))


DETOXIFY_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def write_detoxify_checkpoint(folder: Path, config: Any, filename: str = "toxic.ckpt") -> Path:
    """A detoxify-format checkpoint of a BERT with random weights (`config`: a transformers BertConfig with
    6 labels), with the config and the bundled MiniLM's BERT tokenizer beside it: the format scoring/toxicity.py
    reads, for tests and speed benchmarks where the real weights cannot be downloaded."""
    import torch
    import transformers

    from aigc_workflow.models.bundled import minilm_dir

    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    config.save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(minilm_dir() / name, folder / name)
    args = {"model_type": "bert-base-uncased", "model_name": "BertForSequenceClassification",
            "tokenizer_name": "BertTokenizer", "num_classes": 6}
    checkpoint = {"config": {"arch": {"args": args}, "dataset": {"args": {"classes": DETOXIFY_CLASSES}}},
                  "state_dict": model.state_dict()}
    torch.save(checkpoint, folder / filename)
    return folder / filename
