"""Draft one candidate per evaluation brief under several prompt and sampling variants, for blind reading.

    .venv/bin/python bench/writer/prompt_ab.py --variants plain-t05,examples-t02 --out /tmp/ab

Each variant drafts every brief of briefs.yaml once (the batch's first candidate seed) with the default writer
on llama.cpp, with no scoring and no gate: what is compared is what the writer itself writes. Writes
OUT/drafts.jsonl (variant, brief, text, finish, seconds) and OUT/blind.jsonl (the same drafts shuffled under
opaque ids with their briefs, for readers who must not know the variant) plus OUT/key.json (id -> variant).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import yaml

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation import llamacpp, prompts
from aigc_workflow.generation.base import GenerationRequest, derive_seed
from aigc_workflow.settings import Settings

HERE = Path(__file__).resolve().parent
_TAGS = re.compile(r"\s*#\w+")

# name -> (generation overrides, whether the prompt carries the worked examples). The defaults are now
# "examples-t02"; "plain-t05" is the writer before them (prompt plain-v4 at temperature 0.5).
VARIANTS: dict[str, tuple[dict[str, Any], bool]] = {
    "plain-t05": ({"temperature": 0.5}, False),
    "plain-t02": ({"temperature": 0.2}, False),
    "examples-t05": ({"temperature": 0.5}, True),
    "examples-t02": ({"temperature": 0.2}, True),
    # The same, with the social post's example answer carrying no hashtags (round 3 of AB.md).
    "examples-notags-t02": ({"temperature": 0.2}, True),
    # The product example's answer with its generic claims ("holds its heat well ... good for searing") taken
    # out: every sentence says a fact of the request or what follows from it (round 4 of AB.md).
    "examples-factpan-t02": ({"temperature": 0.2}, True),
    # The same, asked for a length 10% (not 30%) of the way into the brief's range: less room to pad.
    "factpan-short-t02": ({"temperature": 0.2}, True),
}
FACTS_ONLY_PAN = (
    "Meet the Northfield Kitchen cast iron frying pan, a 26 cm pan for everyday cooking. It comes pre-seasoned, "
    "so you can start cooking straight away. It works on every hob, induction included, so it suits whatever "
    "cooker you have at home. A cast iron pan for your kitchen, for £39."
)


def briefs(path: Path) -> list[BriefSpec]:
    rows = yaml.safe_load(path.read_text())
    return [BriefSpec.model_validate(row) for row in rows]


def draft_variant(name: str, specs: list[BriefSpec], batch_seeds: range) -> list[dict[str, Any]]:
    overrides, shots = VARIANTS[name]
    settings = Settings()
    settings.generation = settings.generation.model_copy(update=overrides)
    if not shots:
        llamacpp.chat_messages = prompts.build_messages
    original_examples = prompts.EXAMPLES
    if name == "examples-notags-t02":
        prompts.EXAMPLES = tuple((brief, _TAGS.sub("", answer).rstrip()) for brief, answer in original_examples)
    original_target = prompts.target_words
    if name == "factpan-short-t02":
        prompts.target_words = lambda brief: (brief.min_words + (brief.max_words - brief.min_words) // 10
                                              if brief.min_words and brief.max_words else original_target(brief))
    if name in ("examples-factpan-t02", "factpan-short-t02"):
        prompts.EXAMPLES = tuple((brief, FACTS_ONLY_PAN if brief.ref == "example-frying-pan" else answer)
                                 for brief, answer in original_examples)
    llamacpp._CONTEXT_MARGIN = 1024  # room for the worked examples
    try:
        generator = llamacpp.LlamaCppGenerator(settings)
        generator.load()
        rows = []
        for batch_seed, spec in ((seed, spec) for seed in batch_seeds for spec in specs):
            request = GenerationRequest(spec, 0, derive_seed(batch_seed, spec.ref, 0))
            started = time.perf_counter()
            [draft] = generator.generate([request])
            rows.append({"variant": name, "ref": spec.ref, "seed": batch_seed, "text": draft.text,
                         "finish": draft.params.get("finish"), "seconds": round(time.perf_counter() - started, 2)})
            print(f"{name} {spec.ref} {rows[-1]['seconds']} s", flush=True)
        return rows
    finally:
        llamacpp.chat_messages = prompts.chat_messages
        prompts.EXAMPLES = original_examples
        prompts.target_words = original_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="plain-t05,examples-t02")
    parser.add_argument("--briefs", default=str(HERE / "briefs.yaml"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0, help="batch seed (aigc run's default is 0)")
    parser.add_argument("--seeds", type=int, default=1, help="batch seeds seed..seed+N-1, one draft each")
    parser.add_argument("--format", default=None, help="only briefs whose format contains this word")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    specs = [s for s in briefs(Path(args.briefs)) if not args.format or args.format in (s.format or "")]
    rows = []
    for name in args.variants.split(","):
        rows += draft_variant(name, specs, range(args.seed, args.seed + args.seeds))
    (out / "drafts.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    by_ref = {spec.ref: spec for spec in specs}
    shuffled = random.Random(7).sample(rows, len(rows))
    key, blind = {}, []
    for number, row in enumerate(shuffled):
        draft_id = f"d{number:03d}"
        key[draft_id] = {"variant": row["variant"], "ref": row["ref"], "seed": row.get("seed")}
        brief = by_ref[row["ref"]].model_dump(exclude_none=True, exclude_defaults=True)
        blind.append({"id": draft_id, "brief": brief, "text": row["text"]})
    (out / "blind.jsonl").write_text("".join(json.dumps(row) + "\n" for row in blind))
    (out / "key.json").write_text(json.dumps(key, indent=1))
    print(f"{len(rows)} drafts -> {out}")


if __name__ == "__main__":
    main()
