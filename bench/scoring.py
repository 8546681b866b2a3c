"""Scoring drafts/s per scorer vs each scorer's own reference call on the same texts, one run."""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from pathlib import Path
from typing import Any

from _common import footer, header, table, timed

os.environ.setdefault("HF_HUB_OFFLINE", "1")
VOCAB = ("city trees shade summer streets people health air cooler parks walk children birds water roots "
         "neighbours planting budget council green leaves benefit heat noise traffic calm morning evening").split()


def drafts(count: int, words: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(VOCAB) for _ in range(words)).capitalize() + "." for _ in range(count)]


def detoxify_checkpoint(folder: Path) -> Path:
    """A detoxify-format checkpoint shaped like toxic-bert (bert-base, 6 labels), random weights: speed only."""
    import transformers

    from aigc_workflow.testing import write_detoxify_checkpoint

    return write_detoxify_checkpoint(folder, transformers.BertConfig(num_labels=6))  # bert-base-uncased's shape


def engine(scorer_name: str, settings: Any, items: list) -> Any:
    from aigc_workflow.scoring.base import ScoringContext, create_scorer

    scorer = create_scorer(scorer_name, settings)
    scorer.load()
    context = ScoringContext(published_texts=tuple(drafts(50, 60, seed=1)))
    return lambda: scorer.score(items, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--drafts", type=int, default=64)
    parser.add_argument("--words", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    header(f"scoring ({args.drafts} drafts of {args.words} words)",
           ["torch", "transformers", "sentence-transformers", "alt-profanity-check", "scikit-learn", "detoxify"])
    from aigc_workflow.briefs import BriefSpec
    from aigc_workflow.scoring.base import ScoringItem
    from aigc_workflow.settings import Settings

    texts = drafts(args.drafts, args.words)
    brief = BriefSpec(ref="trees", topic="Why cities need trees", audience="residents", keywords=("shade",))
    items = [ScoringItem(brief, text, None, i) for i, text in enumerate(texts)]
    rows = []

    def measure(name: str, engine_fn: Any, reference_name: str, reference_fn: Any) -> None:
        engine_fn()  # warm-up: lazy loads, first-call allocations
        engine_s, _ = timed(engine_fn, args.repeat)
        row: dict[str, Any] = {"scorer": name, "engine drafts/s": args.drafts / engine_s, "reference": reference_name}
        if reference_fn is not None:
            reference_fn()
            ref_s, _ = timed(reference_fn, args.repeat)
            row["reference drafts/s"] = args.drafts / ref_s
            row["engine / reference"] = ref_s / engine_s
        rows.append(row)
        print(f"  {name} done", flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(home=Path(scratch) / "home", device="cpu")
        from profanity_check import predict_prob

        measure("toxicity (alt-profanity-check)", engine("toxicity", settings, items),
                "profanity_check.predict_prob(list)", lambda: predict_prob(texts))

        from sentence_transformers import SentenceTransformer

        from aigc_workflow.models.bundled import minilm_dir
        from aigc_workflow.scoring.relevance import brief_text

        st = SentenceTransformer(str(minilm_dir()), device="cpu")
        measure("relevance (MiniLM)", engine("relevance", settings, items),
                "SentenceTransformer.encode(brief + drafts)",
                lambda: st.encode([brief_text(brief), *texts], normalize_embeddings=True))
        measure("originality (MiniLM + 3-grams)", engine("originality", settings, items),
                "SentenceTransformer.encode(drafts + published)",
                lambda: st.encode(texts + drafts(50, 60, seed=1), normalize_embeddings=True))
        measure("bias (genbit lists + toxicity swaps)", engine("bias", settings, items), "none (no peer)", None)
        measure("format", engine("format", settings, items), "none (no peer)", None)

        checkpoint = detoxify_checkpoint(Path(scratch))
        detox_settings = Settings(home=Path(scratch) / "home", device="cpu", toxicity_backend="detoxify",
                                  detoxify_checkpoint=checkpoint)
        reference = _detoxify_reference(checkpoint)
        measure("toxicity (detoxify, bert-base shape)", engine("toxicity", detox_settings, items),
                "Detoxify.predict(list)", lambda: reference.predict(texts))
    table(rows, ["scorer", "engine drafts/s", "reference", "reference drafts/s", "engine / reference"])
    print("engine / reference > 1 means the engine's scorer is faster than the reference call on the same texts")
    footer()


def _detoxify_reference(checkpoint: Path) -> Any:
    """detoxify's Detoxify object with the same weights; its __init__ would fetch the base config from the hub."""
    import torch
    import transformers
    from detoxify import Detoxify

    folder = checkpoint.parent
    reference = Detoxify.__new__(Detoxify)
    reference.model = transformers.BertForSequenceClassification(transformers.BertConfig.from_pretrained(folder))
    reference.model.load_state_dict(torch.load(checkpoint, weights_only=False)["state_dict"])
    reference.model.eval()
    reference.tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    reference.class_names = ["toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"]
    reference.device = "cpu"
    return reference


if __name__ == "__main__":
    main()
