"""The text generator on the real bundled SmolLM2: seeded, batch-independent drafts, cached weights."""

from __future__ import annotations

import time

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation import create_generator
from aigc_workflow.generation.base import GenerationRequest
from aigc_workflow.generation.prompts import PROMPT_VERSION
from aigc_workflow.generation.text import SAMPLER, TextGenerator
from aigc_workflow.models import convert
from aigc_workflow.models.specs import RegisteredModel

pytestmark = pytest.mark.slow

CYCLING = BriefSpec(
    ref="cycling",
    topic="Why cycling to work is good for you",
    audience="office workers",
    tone="upbeat",
    format="short paragraph",
    max_words=60,
    keywords=("health", "commute"),
    avoid=("cheap",),
)
TEA = BriefSpec(ref="tea", topic="Green tea", tone="calm")
LONG = BriefSpec(
    ref="long",
    topic="A product announcement for a solar-powered backpack that charges phones, aimed at students who "
    "walk long distances to campus and want to stay connected without carrying spare batteries",
    audience="university students",
    keywords=("solar", "backpack", "campus"),
)


@pytest.fixture
def generator(model_settings) -> TextGenerator:  # type: ignore[no-untyped-def]
    generator = create_generator("text", model_settings)
    assert isinstance(generator, TextGenerator)
    generator.load()
    return generator


def test_loads_on_cpu_in_float32_from_the_bundled_cache(generator):
    import torch

    assert generator.device == "cpu" and generator.dtype == torch.float32
    assert next(generator._model.parameters()).dtype == torch.float32
    assert generator.model_version.startswith("bundled:smollm2-135m-instruct@")
    assert len(generator.model_version.rsplit("@", 1)[1]) == 12


def test_same_seed_same_draft_and_drafts_record_lineage(generator):
    request = GenerationRequest(CYCLING, candidate_index=0, seed=1234)
    first, second = generator.generate([request]), generator.generate([request])
    assert first[0].text and first[0].text == second[0].text
    draft = first[0]
    assert draft.request.seed == 1234 and draft.request is request
    assert draft.model_version == generator.model_version
    sampling = {"max_new_tokens": 24, "temperature": 0.8, "top_p": 0.95, "sampler": SAMPLER}
    assert {key: draft.params[key] for key in sampling} == sampling
    # Lineage also names the back-end, the prompt's version and how the answer ended.
    assert draft.params["backend"] == "transformers" and draft.params["prompt"] == PROMPT_VERSION
    assert draft.params["finish"] in {"token limit", "end of answer"} or draft.params["finish"].startswith("token limit:")
    assert "<|im_start|>assistant" in draft.prompt and "Why cycling to work" in draft.prompt
    assert "<|im_start|>" not in draft.text
    other = generator.generate([GenerationRequest(CYCLING, candidate_index=1, seed=98765)])
    assert other[0].text != draft.text  # a different seed gives a different candidate


def test_a_draft_does_not_depend_on_its_batch(generator, model_settings):
    target = GenerationRequest(CYCLING, candidate_index=0, seed=42)
    alone = generator.generate([target])[0].text
    # Different prompt lengths force left padding; the target sits in the middle of the batch.
    batch = [GenerationRequest(LONG, 0, 7), target, GenerationRequest(TEA, 0, 8)]
    together = generator.generate(batch)
    assert [d.request for d in together] == batch
    assert together[1].text == alone
    # Chunking differently (batch_size 2) changes batch-mates again, not the drafts.
    model_settings.generation.batch_size = 2
    assert [d.text for d in generator.generate(batch)] == [d.text for d in together]


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_reusing_the_shared_prompt_prefix_changes_no_draft(generator, model_settings, temperature):
    model_settings.generation.temperature = temperature
    prompts = [generator.prompt_for(GenerationRequest(b, 0, 1)) for b in (LONG, CYCLING, TEA)]
    with_prefix = generator.generate_ids(prompts, [7, 42, 8])
    # The rules every prompt starts with are prefilled once, then reused by every batch.
    assert len(generator._prefix.ids) >= 100
    assert all(generator._prefix.fits(generator.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
    prefilled = generator._prefix._prefilled()
    assert generator.generate_ids(prompts[:1], [7]) == with_prefix[:1]
    assert generator._prefix._prefilled() is prefilled
    model_settings.generation.reuse_prompt_prefix = False
    assert generator.generate_ids(prompts, [7, 42, 8]) == with_prefix


def test_a_prompt_without_the_shared_prefix_is_drafted_apart_and_unchanged(generator, model_settings):
    model_settings.generation.temperature = 0.0
    odd = "Write one sentence about rivers."  # no chat template, so not the engine's rules
    templated = generator.prompt_for(GenerationRequest(TEA, 0, 1))
    assert not generator._prefix.fits(generator.tokenizer(odd, add_special_tokens=False)["input_ids"])
    mixed = generator.generate_ids([odd, templated], [1, 2])
    assert mixed == [generator.generate_ids([odd], [1])[0], generator.generate_ids([templated], [2])[0]]


def test_max_new_tokens_is_respected(generator, model_settings):
    model_settings.generation.max_new_tokens = 6
    prompts = [generator.prompt_for(GenerationRequest(b, 0, 1)) for b in (CYCLING, TEA)]
    ids = generator.generate_ids(prompts, [3, 4])
    assert all(0 < len(row) <= 6 for row in ids)
    assert generator.params["max_new_tokens"] == 6
    assert generator.generate([GenerationRequest(TEA, 0, 4)])[0].params["max_new_tokens"] == 6


def test_greedy_when_temperature_is_zero(generator, model_settings):
    model_settings.generation.temperature = 0.0
    a = generator.generate([GenerationRequest(TEA, 0, 1)])[0]
    b = generator.generate([GenerationRequest(TEA, 1, 2)])[0]
    assert a.text == b.text and a.params["sampler"] == "greedy"


def test_second_load_uses_the_safetensors_cache(model_settings, monkeypatch):
    def no_conversion(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the cached safetensors copy should have been used")

    monkeypatch.setattr(convert, "_convert_into", no_conversion)
    generator = TextGenerator(model_settings)
    started = time.perf_counter()
    generator.load()
    elapsed = time.perf_counter() - started
    print(f"\n[models] load from safetensors cache: {elapsed:.2f} s")
    assert elapsed < 10
    generator.load()  # a second call is a no-op
    assert generator.load_seconds is not None and generator.load_seconds < 10


def test_registered_version_loads_base_plus_lora_adapter(generator, model_settings, tmp_path):
    from peft import LoraConfig, get_peft_model

    # A small random LoRA (non-zero B) so merging visibly changes the weights.
    adapter_dir = tmp_path / "adapter"
    peft_model = get_peft_model(
        generator._model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.save_pretrained(adapter_dir)
    registered = RegisteredModel("cycling-v1", "bundled:smollm2-135m-instruct", adapter_dir)
    tuned = TextGenerator(model_settings, registered=registered)
    assert tuned.spec == "registry:cycling-v1"
    assert tuned.model_version.startswith("registry:cycling-v1@")
    assert tuned.model_version.endswith(f"+{generator.model_version}")
    tuned.load()
    assert not hasattr(tuned._model, "peft_config")  # merged into plain weights for inference
    draft = tuned.generate([GenerationRequest(TEA, 0, 5)])[0]
    assert draft.model_version == tuned.model_version and isinstance(draft.text, str)


def test_sampler_noise_is_a_function_of_seed_step_and_token_only():
    import numpy as np
    import torch

    from aigc_workflow.generation.text import gumbel_noise, seeded_pick

    ids = np.array([[5, 9, 1000], [5, 9, 1000]])
    a = gumbel_noise(np.array([7, 8], dtype=np.uint64), 3, ids)
    b = gumbel_noise(np.array([8, 7], dtype=np.uint64), 3, ids)
    assert np.array_equal(a[0], b[1]) and not np.array_equal(a[0], a[1])  # per row, not per position
    assert not np.array_equal(a, gumbel_noise(np.array([7, 8], dtype=np.uint64), 4, ids))  # per step
    # Rows picked alone, together, in any order: the same token for the same seed. Flat logits make the
    # nucleus overflow the first candidates, so the exact wide-nucleus path is exercised too.
    torch.manual_seed(0)
    logits = torch.cat([torch.randn(3, 500) * 6, torch.zeros(1, 500), torch.randn(1, 500) * 0.01])
    seeds = np.array([11, 12, 13, 14, 15], dtype=np.uint64)
    together = seeded_pick(logits, seeds, 0, 0.8, 0.95)
    alone = [seeded_pick(logits[i : i + 1], seeds[i : i + 1], 0, 0.8, 0.95)[0] for i in range(5)]
    reversed_ = seeded_pick(logits.flip(0), seeds[::-1].copy(), 0, 0.8, 0.95)[::-1]
    assert together == alone == reversed_


def test_sampler_draws_from_the_top_p_distribution():
    import numpy as np
    import torch

    from aigc_workflow.generation.text import seeded_pick

    probs = torch.tensor([[0.5, 0.3, 0.15, 0.04, 0.01]])
    counts = np.bincount([seeded_pick(probs.log(), np.array([s], dtype=np.uint64), 0, 1.0, 0.9)[0]
                          for s in range(6000)], minlength=5)
    # top_p=0.9 keeps {0, 1, 2} (mass 0.95); renormalised: 0.526, 0.316, 0.158.
    assert counts[3] == counts[4] == 0
    assert np.allclose(counts[:3] / 6000, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95], atol=0.025)
