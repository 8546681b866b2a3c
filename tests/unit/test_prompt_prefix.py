"""Which models reuse the shared prompt prefix: only those where pads in the middle change nothing."""

from __future__ import annotations

import pytest

from aigc_workflow.generation.prefix import PromptPrefix

TINY = {"num_hidden_layers": 1, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
        "num_key_value_heads": 2, "vocab_size": 100}


class CharTokenizer:
    """One id per character, no chat template: the prompt's plain layout."""

    chat_template = None
    all_special_tokens: list[str] = []

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": [ord(char) % 100 for char in text]}


def test_a_sliding_window_model_drafts_without_prefix_reuse() -> None:
    from transformers import MistralConfig, MistralForCausalLM

    # Pads would take window slots and push prefix tokens out of a row's window: the draft would then
    # depend on its batch-mates' lengths.
    model = MistralForCausalLM(MistralConfig(**TINY, sliding_window=16))
    prefix = PromptPrefix(model, tokenizer=None, device="cpu")
    assert prefix.ids == []
    assert not prefix.fits(list(range(50)))


def test_a_full_attention_model_can_reuse_it() -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    prefix = PromptPrefix(LlamaForCausalLM(LlamaConfig(**TINY)), CharTokenizer(), device="cpu")
    assert len(prefix.ids) > 100  # the rules, in characters here
    assert prefix.fits(prefix.ids + [1]) and not prefix.fits(prefix.ids) and not prefix.fits([1] + prefix.ids)


@pytest.mark.parametrize("rows", [[[5, 6]], [[5], [5, 6, 7]]])
def test_rows_are_laid_out_as_prefix_pads_rest(rows: list[list[int]]) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    prefix = PromptPrefix(LlamaForCausalLM(LlamaConfig(**TINY)), CharTokenizer(), device="cpu")
    full = [prefix.ids + row for row in rows]
    kwargs = prefix.generate_kwargs(full, pad_id=0)
    width = max(len(row) for row in rows)
    for line, mask, row in zip(kwargs["input_ids"].tolist(), kwargs["attention_mask"].tolist(), rows, strict=True):
        pads = width - len(row)
        assert line == prefix.ids + [0] * pads + row
        assert mask == [1] * len(prefix.ids) + [0] * pads + [1] * len(row)
    assert kwargs[prefix._cache_kwarg].get_seq_length() == len(prefix.ids)  # prefilled once, copied per call
