"""Seconds per LoRA training step: the engine's TRL fine-tune vs a plain PyTorch loop vs TRL's own defaults."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

from _common import footer, header, table

WORDS = ("the team wrote a clear short note about cycling to work, fresh air, health, the daily commute, "
         "saving money and feeling better at the office every single morning of the week").split()


def rows(count: int) -> list[dict[str, str]]:
    # Long enough that every example is truncated to max_length: every batch is exactly batch x max_length.
    return [{"prompt": f"Write note {i} about cycling.", "completion": " ".join(WORDS[(i + j) % len(WORDS)]
             for j in range(400))} for i in range(count)]


def fresh_model(settings: Any) -> tuple[Any, Any]:
    from aigc_workflow.training.finetune import load_for_training

    model, tokenizer, _ = load_for_training(settings, "bundled:smollm2-135m-instruct", None)
    return model, tokenizer


def plain_loop(settings: Any, steps: int, batch: int, length: int) -> list[float]:
    """The reference: tokenised tensors, forward with labels, backward, AdamW step; nothing else."""
    import torch

    model, tokenizer = fresh_model(settings)
    model.train()
    texts = [r["prompt"] + " " + r["completion"] for r in rows(batch)]
    enc = tokenizer(texts, truncation=True, max_length=length, padding="max_length", return_tensors="pt")
    assert enc["input_ids"].shape == (batch, length)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=settings.finetune.learning_rate)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        loss = model(**enc, labels=enc["input_ids"]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    return times


def trl_steps(settings: Any, steps: int, batch: int, length: int, engine_args: bool) -> list[float]:
    """SFTTrainer on the same model, adapter and batch shape; per-step wall time from a callback."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from aigc_workflow.training.finetune import training_args

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []
            self._start = 0.0

        def on_step_begin(self, *args: Any, **kwargs: Any) -> None:
            self._start = time.perf_counter()

        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            self.times.append(time.perf_counter() - self._start)

    model, tokenizer = fresh_model(settings)
    config = settings.finetune.model_copy(update={"batch_size": batch})
    with tempfile.TemporaryDirectory() as scratch:
        if engine_args:
            args = SFTConfig(**training_args(config, False, scratch, steps), max_length=length, packing=False,
                             dataset_num_proc=None)
        else:  # TRL's defaults (bf16, gradient checkpointing), only what must be said to run here
            args = SFTConfig(output_dir=scratch, max_steps=steps, per_device_train_batch_size=batch,
                             max_length=length, report_to=[], use_cpu=True, save_strategy="no", disable_tqdm=True)
        timer = StepTimer()
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows(batch * steps)),
                             processing_class=tokenizer, callbacks=[timer])
        print(f"    bf16={args.bf16} gradient_checkpointing={args.gradient_checkpointing}", flush=True)
        trainer.train()
    return timer.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=4, help="steps per column; the first is a warm-up")
    parser.add_argument("--default-steps", type=int, default=2, help="steps for TRL's slow defaults column")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--skip-defaults", action="store_true")
    args = parser.parse_args()
    header(f"fine-tune step (SmolLM2-135M, LoRA r=8 q/v, batch {args.batch} x {args.length} tokens, CPU)",
           ["torch", "transformers", "trl", "peft", "accelerate"])
    from aigc_workflow.models.convert import ensure_bundled_text_model
    from aigc_workflow.settings import Settings

    settings = Settings(device="cpu")
    ensure_bundled_text_model(settings)
    results: dict[str, list[float]] = {}
    print("  plain PyTorch loop", flush=True)
    results["plain loop"] = plain_loop(settings, args.steps, args.batch, args.length)
    print("  engine (TRL SFTTrainer + training_args)", flush=True)
    results["engine TRL"] = trl_steps(settings, args.steps, args.batch, args.length, engine_args=True)
    if not args.skip_defaults:
        print("  TRL defaults", flush=True)
        results["TRL defaults"] = trl_steps(settings, args.default_steps, args.batch, args.length, engine_args=False)
    plain = _steady(results["plain loop"])
    out = []
    for name, times in results.items():
        steady = _steady(times)
        out.append({"column": name, "s/step (median after warm-up)": steady, "first step s": times[0],
                    "steps": len(times), "vs plain loop": steady / plain})
    table(out, ["column", "s/step (median after warm-up)", "first step s", "steps", "vs plain loop"])
    footer()


def _steady(times: list[float]) -> float:
    return statistics.median(times[1:] or times)


if __name__ == "__main__":
    main()
