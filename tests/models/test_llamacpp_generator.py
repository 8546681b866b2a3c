"""The default writer (Qwen2.5-Coder-1.5B-Instruct through llama.cpp): clean, seeded drafts and LoRA versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation import create_generator
from aigc_workflow.generation.base import GenerationRequest
from aigc_workflow.generation.llamacpp import LlamaCppGenerator
from aigc_workflow.models.specs import RegisteredModel

pytestmark = pytest.mark.slow

# The README example's shape.
TREES = BriefSpec(
    ref="city-trees", topic="Why cities should plant more street trees", audience="city council members",
    tone="persuasive and friendly", format="short blog post", min_words=40, max_words=200,
    keywords=("trees", "shade"), avoid=("guaranteed",), channel="blog",
)
BAKERY = BriefSpec(
    ref="bakery", topic="Our autumn loaf is back: spelt, walnuts and honey, baked every morning, 4.20 GBP",
    audience="regular customers", tone="warm", format="social media post", min_words=20, max_words=60,
    keywords=("walnuts",), channel="social",
)


@pytest.fixture(scope="module")
def writer(default_writer_settings) -> LlamaCppGenerator:  # type: ignore[no-untyped-def]
    generator = create_generator("text", default_writer_settings)
    assert isinstance(generator, LlamaCppGenerator), "the default writer drafts through llama.cpp on a CPU"
    generator.load()
    return generator


def test_the_default_writer_is_the_pinned_qwen_gguf(writer: LlamaCppGenerator) -> None:
    assert writer.model_version == "bundled:qwen2.5-coder-1.5b-instruct@cc324af070c2"
    assert writer.params["backend"] == "llama.cpp"


def test_a_draft_is_the_content_alone_and_ends_where_the_answer_ended(writer: LlamaCppGenerator) -> None:
    (draft,) = writer.generate([GenerationRequest(TREES, 0, 11)])
    text = draft.text or ""
    # The budget (1.4 tokens a word of max_words) trims an overlong answer back to whole sentences.
    assert 30 <= len(text.split()) <= 230, text
    lowered = text.lower()
    for echo in ("<brief>", "the brief", "here is", "here's", "sure!", "as an ai", "[insert"):
        assert echo not in lowered, (echo, text)
    assert "tree" in lowered
    assert text.rstrip()[-1] in ".!?\"')", text
    assert draft.params["finish"] in ("end of answer", "token limit: trimmed to the last complete sentence",
                                      "trimmed to the brief's max_words at a sentence end")
    assert draft.params["token_budget"] == 276
    assert "<|im_start|>user" in draft.prompt and "Topic: Why cities should plant more street trees" in draft.prompt


def test_same_seed_same_draft_in_any_order_and_after_other_drafts(writer, default_writer_settings) -> None:  # type: ignore[no-untyped-def]
    first = writer.generate([GenerationRequest(BAKERY, 0, 5), GenerationRequest(TREES, 1, 6)])
    again = writer.generate([GenerationRequest(TREES, 1, 6), GenerationRequest(BAKERY, 0, 5)])
    assert first[0].text == again[1].text and first[1].text == again[0].text
    other_seed = writer.generate([GenerationRequest(BAKERY, 0, 99)])
    assert other_seed[0].text != first[0].text
    # A fresh generator (as another process would build) makes the same draft from the same seed.
    fresh = LlamaCppGenerator(default_writer_settings)
    assert fresh.generate([GenerationRequest(BAKERY, 0, 5)])[0].text == first[0].text


def test_a_saved_prompt_opening_gives_the_same_draft_as_a_fresh_evaluation(
    default_writer_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from aigc_workflow.generation import prompt_cache

    restored_from_file: list[bool] = []
    real_restore = prompt_cache.restore

    def spy(*args: object) -> bool:
        restored_from_file.append(real_restore(*args))  # type: ignore[arg-type]
        return restored_from_file[-1]

    monkeypatch.setattr(prompt_cache, "restore", spy)
    # Its own model cache: the GGUF is linked in, the prompt cache starts empty.
    cache = tmp_path / "models"
    (cache / "gguf").mkdir(parents=True)
    for file in (default_writer_settings.models_dir / "gguf").iterdir():
        (cache / "gguf" / file.name).symlink_to(file)
    settings = default_writer_settings.model_copy(update={"model_cache": cache})
    evaluated = LlamaCppGenerator(settings)  # evaluates the rules and examples, and saves them
    fresh = evaluated.generate([GenerationRequest(BAKERY, 0, 5)])[0].text
    saved = list((cache / "prompt-cache").glob("*.bin"))
    assert len(saved) == 1 and saved[0].stat().st_size > 1_000_000
    restored = LlamaCppGenerator(settings)  # as a later process: loads the saved evaluation
    assert restored.generate([GenerationRequest(BAKERY, 0, 5)])[0].text == fresh
    saved[0].write_bytes(b"not a llama.cpp state")  # a damaged cache is evaluated anew, never trusted
    assert LlamaCppGenerator(settings).generate([GenerationRequest(BAKERY, 0, 5)])[0].text == fresh
    assert restored_from_file == [False, True, False]  # none yet, the saved one, the damaged one


def test_a_token_budget_that_runs_out_is_trimmed_to_a_whole_sentence(default_writer_settings) -> None:  # type: ignore[no-untyped-def]
    short = default_writer_settings.model_copy(deep=True)
    short.generation.max_new_tokens = 40
    writer = LlamaCppGenerator(short)
    (draft,) = writer.generate([GenerationRequest(TREES, 0, 11)])
    # Either trimmed back to its last whole sentence or, when the budget ended on one, kept as it is.
    assert draft.params["finish"].startswith("token limit"), draft.params
    assert draft.params["token_budget"] == 40
    assert draft.text and draft.text.rstrip()[-1] in ".!?\"')", draft.text


def _write_peft_adapter(folder: Path, scale: float) -> None:
    """A PEFT-format LoRA on q_proj/v_proj of every layer (what training writes), B scaled by `scale`."""
    import numpy as np
    from safetensors.numpy import save_file

    rank, hidden, kv = 4, 1536, 256  # Qwen2.5-1.5B: 28 layers, hidden 1536, 2 KV heads of 128
    rng = np.random.default_rng(0)
    tensors = {}
    for layer in range(28):
        for module, out in (("q_proj", hidden), ("v_proj", kv)):
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[f"{prefix}.lora_A.weight"] = rng.normal(0, 0.02, (rank, hidden)).astype(np.float32)
            tensors[f"{prefix}.lora_B.weight"] = (rng.normal(0, 1.0, (out, rank)) * scale).astype(np.float32)
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    config = {"peft_type": "LORA", "r": rank, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps(config))


def test_a_registered_lora_version_drafts_through_llama_cpp(writer, default_writer_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    request = GenerationRequest(BAKERY, 0, 5)
    base_text = writer.generate([request])[0].text
    _write_peft_adapter(tmp_path / "zero", scale=0.0)
    _write_peft_adapter(tmp_path / "strong", scale=1.0)
    base_spec = default_writer_settings.text_model
    zero = LlamaCppGenerator(default_writer_settings, registered=RegisteredModel("v-zero", base_spec, tmp_path / "zero"))
    strong = LlamaCppGenerator(default_writer_settings,
                               registered=RegisteredModel("v-strong", base_spec, tmp_path / "strong"))
    # An adapter whose B is zero changes nothing (as in PEFT, where training starts from B = 0) ...
    assert zero.generate([request])[0].text == base_text
    # ... and a trained one changes the drafts: llama.cpp really applies it.
    assert strong.generate([request])[0].text != base_text
    assert (tmp_path / "strong" / ".lora.gguf").is_file()
    assert strong.model_version.startswith("registry:v-strong@") and strong.model_version.endswith(writer.model_version)


# The writer evaluation's library notice: asked for about 71 words, the writer restated the topic in 17-23.
LIBRARY = BriefSpec(
    ref="library-hours", audience="library members and local residents", tone="clear and welcoming",
    topic="The Riverside Library opens longer from 3 March: Monday to Friday 9:00-20:00, Saturday 10:00-16:00, "
          "closed Sunday", format="short announcement", min_words=50, max_words=120,
    keywords=("opening hours", "library"), channel="web",
)


def test_a_draft_cannot_end_before_the_briefs_minimum_is_in_reach(writer: LlamaCppGenerator) -> None:
    (draft,) = writer.generate([GenerationRequest(LIBRARY, 0, 12)])
    assert draft.params["min_tokens"] == 70
    # Seed 12 ended after 17 words when the end of turn was allowed at once; the last sentence may be trimmed.
    assert len(draft.text.split()) >= 40, draft.text
    assert "[" not in draft.text  # the placeholder ban holds beside the length rule (one logits processor)


def test_a_brief_with_many_long_facts_still_gets_its_whole_draft(writer: LlamaCppGenerator) -> None:
    # The rules and worked examples take about 860 tokens before the request: the context must hold a long
    # request and the brief's whole token budget besides (before, llama-cpp-python silently cut the budget).
    facts = tuple(f"Stall {n} at the Harbour Fair sells hand-made goods from the valley, open 10:00-16:00 on "
                  f"Saturday and Sunday, with card payments accepted at every till" for n in range(1, 16))
    fair = BriefSpec(ref="fair", topic="The Harbour Fair returns this weekend", format="blog post",
                     min_words=120, max_words=250, facts=facts, channel="blog")
    prompt_tokens = len(writer._tokens(writer.prompt_for(GenerationRequest(fair, 0, 3))))
    assert prompt_tokens > 1500
    (draft,) = writer.generate([GenerationRequest(fair, 0, 3)])
    assert draft.params["token_budget"] == 320
    assert prompt_tokens + draft.params["token_budget"] <= writer._llama.n_ctx()
    assert draft.text and "Harbour Fair" in draft.text


def test_a_prompt_past_the_writers_context_is_a_clear_error_naming_the_brief(writer: LlamaCppGenerator) -> None:
    from aigc_workflow.generation.llamacpp import PromptTooLong

    facts = tuple(f"Fact {n}: " + "the valley's makers bring wool, wood and pottery to the fair " * 8
                  for n in range(50))
    huge = BriefSpec(ref="huge-fair", topic="The Harbour Fair", facts=facts, max_words=100)
    with pytest.raises(PromptTooLong, match="brief 'huge-fair'.*shorten the brief's topic or facts"):
        writer.generate([GenerationRequest(huge, 0, 1)])
