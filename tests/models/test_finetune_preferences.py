"""Training stages on the bundled model: an edit pair takes the DPO path, judged texts the KTO path."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_workflow.training.dataset import Example, PreferencePair
from aigc_workflow.training.finetune import train_adapter

pytestmark = pytest.mark.slow

PROMPT = "<|im_start|>user\nWrite one sentence about street trees.<|im_end|>\n<|im_start|>assistant\n"


def tiny(model_settings):  # type: ignore[no-untyped-def]
    finetune = model_settings.finetune.model_copy(update={"sft_steps": 1, "preference_steps": 1, "batch_size": 2,
                                                          "max_length": 96})
    return model_settings.model_copy(update={"finetune": finetune})


@pytest.mark.parametrize("stage", ["dpo", "kto"])
def test_preference_stage_trains_and_saves_an_adapter(model_settings, tmp_path: Path, stage: str) -> None:  # type: ignore[no-untyped-def]
    good = [Example(PROMPT, "Street trees cool the city and clean the air.", True, i, f"rating:{i}") for i in (1, 2)]
    bad = [Example(PROMPT, "Trees are bad and so are you.", False, i, f"rating:{i}") for i in (3, 4)]
    pairs = [PreferencePair(PROMPT, "Trees give shade to every street.", "trees trees trees", 5, "review:1")]
    result = train_adapter(
        tiny(model_settings), base_spec="bundled:smollm2-135m-instruct", parent=None, desirable=good,
        undesirable=bad if stage == "kto" else [], pairs=pairs if stage == "dpo" else [],
        output_dir=tmp_path / "adapter",
    )
    assert result.metrics["sft"]["steps"] == 1
    assert result.metrics[stage]["steps"] == 1
    assert result.metrics["max_lora_weight_change"] > 0
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
