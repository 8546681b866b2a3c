"""LoRA fine-tuning through TRL: SFT on desirable texts, then DPO on edit pairs or KTO on judged texts."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_workflow import progress
from aigc_workflow.crashpoints import pause_for_crash_test
from aigc_workflow.generation.prompts import without_examples
from aigc_workflow.models.specs import RegisteredModel, ResolvedTextModel, resolve_text_model
from aigc_workflow.settings import FinetuneSettings, Settings
from aigc_workflow.training.dataset import Example, PreferencePair

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    adapter_path: Path
    metrics: dict[str, Any] = field(default_factory=dict)


def training_args(config: FinetuneSettings, cuda: bool, output_dir: str, steps: int) -> dict[str, Any]:
    """Arguments shared by every TRL trainer here, with the defaults that cost time on a CPU turned off.

    TRL's configs default to bf16=True and activation (gradient) checkpointing on. On a CPU without bf16 matrix units,
    bf16 autocast can make every matmul several times slower, and checkpointing recomputes the forward pass.
    With TRL 1.16 / torch 2.14 the defaults measured 1.08-1.16x a plain loop and this path 1.31-1.33x
    (bench/finetune_step.py, bench/RESULTS.md): float32 is kept for reproducible CPU runs, not for speed.
    """
    return {
        "output_dir": output_dir,
        "max_steps": steps,
        # On a CPU two examples at a time, accumulated to the batch: about the same update with half the
        # activation memory (a 1.5B writer at batch 4 x 350 tokens would need ~15 GB). Two, not one: KTO's
        # KL term needs more than one example per forward pass.
        "per_device_train_batch_size": config.batch_size if cuda else min(2, config.batch_size),
        "gradient_accumulation_steps": 1 if cuda else max(1, config.batch_size // 2),
        "learning_rate": config.learning_rate,
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        "seed": config.seed,
        "data_seed": config.seed,
        "bf16": cuda,
        "fp16": False,
        "use_cpu": not cuda,
        "activation_checkpointing": False,  # the new name: the old one warns on every run
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "remove_unused_columns": True,
    }


def _losses(history: list[dict[str, Any]]) -> list[float]:
    return [float(entry["loss"]) for entry in history if "loss" in entry]


def _stage_metrics(trainer: Any, seconds: float, examples: int) -> dict[str, Any]:
    losses = _losses(trainer.state.log_history)
    steps = trainer.state.global_step
    return {
        "examples": examples,
        "steps": steps,
        "loss_first": losses[0] if losses else None,
        "loss_last": losses[-1] if losses else None,
        "seconds": round(seconds, 2),
        "seconds_per_step": round(seconds / steps, 3) if steps else None,
    }


def load_for_training(settings: Settings, base_spec: str, parent: RegisteredModel | None) -> tuple[Any, Any, Any]:
    """Base model (float32 on CPU, bf16 on CUDA), tokenizer, and the LoRA to train: the parent's or a new one."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    resolved: ResolvedTextModel = resolve_text_model(base_spec, settings)
    if resolved.bundled_name is not None:
        from aigc_workflow.models.convert import ensure_bundled_text_model

        ensure_bundled_text_model(settings, resolved.bundled_name)
    cuda = torch.cuda.is_available() and settings.device != "cpu"
    model = AutoModelForCausalLM.from_pretrained(
        resolved.source, revision=resolved.revision, dtype=torch.bfloat16 if cuda else torch.float32,
        attn_implementation="sdpa",
    )
    tokenizer = AutoTokenizer.from_pretrained(resolved.source, revision=resolved.revision)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    config = settings.finetune
    if parent is not None and parent.adapter_path is not None:
        # Continue the promoted version's adapter, so every version is one base plus one adapter.
        model = PeftModel.from_pretrained(model, str(parent.adapter_path), is_trainable=True)
    else:
        lora = LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=list(config.target_modules), task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    return model, tokenizer, cuda


def _lora_snapshot(model: Any) -> dict[str, Any]:
    return {name: p.detach().clone() for name, p in model.named_parameters() if "lora_" in name}


def _changed(before: dict[str, Any], model: Any) -> float:
    """Largest absolute change of any LoRA weight: proof that training moved the adapter."""
    after = dict(model.named_parameters())
    return max(float((after[name].detach() - value).abs().max()) for name, value in before.items())


def train_adapter(
    settings: Settings,
    *,
    base_spec: str,
    parent: RegisteredModel | None,
    desirable: list[Example],
    undesirable: list[Example],
    pairs: list[PreferencePair],
    output_dir: Path,
) -> TrainResult:
    """Train and save an adapter into output_dir (written whole or not at all); returns its metrics."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    config = settings.finetune
    model, tokenizer, cuda = load_for_training(settings, base_spec, parent)
    before = _lora_snapshot(model)
    metrics: dict[str, Any] = {"device": "cuda" if cuda else "cpu", "base": base_spec,
                               "parent": parent.name if parent else None}
    scratch = Path(tempfile.mkdtemp(prefix="aigc-train-"))
    try:
        eos = tokenizer.eos_token or ""

        prompt = without_examples(tokenizer)
        sft_rows = [{"prompt": prompt(e.prompt), "completion": e.completion.strip() + eos} for e in desirable]
        sft_args = SFTConfig(
            **training_args(config, cuda, str(scratch / "sft"), config.sft_steps),
            max_length=config.max_length, packing=False, dataset_num_proc=None,
        )
        trainer = SFTTrainer(model=model, args=sft_args, train_dataset=Dataset.from_list(sft_rows),
                             processing_class=tokenizer, callbacks=[step_progress("SFT steps")])
        started = time.perf_counter()
        trainer.train()
        metrics["sft"] = _stage_metrics(trainer, time.perf_counter() - started, len(sft_rows))
        model = trainer.model
        if pairs and config.preference_steps:
            rows = [{"prompt": prompt(p.prompt), "chosen": p.chosen, "rejected": p.rejected} for p in pairs]
            metrics["dpo"] = _train_preferences("dpo", model, tokenizer, rows, config, cuda, scratch)
        elif undesirable and config.preference_steps:
            rows = [{"prompt": prompt(e.prompt), "completion": e.completion, "label": e.desirable}
                    for e in desirable + undesirable]
            metrics["kto"] = _train_preferences("kto", model, tokenizer, rows, config, cuda, scratch)
        metrics["max_lora_weight_change"] = _changed(before, model)
        pause_for_crash_test("train")
        _save_atomically(model, tokenizer, output_dir, base_gguf=resolve_text_model(base_spec, settings).gguf_path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return TrainResult(output_dir, metrics)


def _train_preferences(stage: str, model: Any, tokenizer: Any, rows: list[dict[str, Any]],
                       config: FinetuneSettings, cuda: bool, scratch: Path) -> dict[str, Any]:
    """DPO on (chosen, rejected) pairs or KTO on labelled completions, after SFT, on the same adapter."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer

    config_cls, trainer_cls = {"dpo": (DPOConfig, DPOTrainer), "kto": (KTOConfig, KTOTrainer)}[stage]
    args = config_cls(**training_args(config, cuda, str(scratch / stage), config.preference_steps),
                      max_length=config.max_length, beta=config.beta)
    # With a PEFT model and no ref_model, TRL uses the adapter-disabled model as the reference.
    trainer = trainer_cls(model=model, ref_model=None, args=args, train_dataset=Dataset.from_list(rows),
                          processing_class=tokenizer, callbacks=[step_progress(f"{stage.upper()} steps")])
    started = time.perf_counter()
    trainer.train()
    return _stage_metrics(trainer, time.perf_counter() - started, len(rows))


def step_progress(stage: str) -> Any:
    """A trainer callback that reports each optimiser step to the progress listeners (the terminal's bar)."""
    from transformers import TrainerCallback

    class StepProgress(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            progress.report(stage, state.global_step, state.max_steps)

    return StepProgress()


def _save_atomically(model: Any, tokenizer: Any, output_dir: Path, base_gguf: Path | None = None) -> None:
    # Save beside the target and rename: a crash never leaves a half-written adapter for the registry to find.
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=output_dir.parent, prefix=f".{output_dir.name}."))
    try:
        model.save_pretrained(str(temp), safe_serialization=True)
        tokenizer.save_pretrained(str(temp))
        if base_gguf is not None:
            # Written now, so a version that llama.cpp cannot apply fails its fine-tune, not a later batch.
            from aigc_workflow.training.lora_gguf import ensure_adapter_gguf

            ensure_adapter_gguf(temp, base_gguf)
        if output_dir.exists():
            shutil.rmtree(output_dir)
        os.replace(temp, output_dir)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
