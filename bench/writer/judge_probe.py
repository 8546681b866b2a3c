"""Can the bundled writer judge a draft against its brief? Two yes/no questions, scored by P(yes), on the read drafts.

    .venv/bin/python bench/writer/labelling.py export drafts-default.json > /tmp/eval-drafts.jsonl
    .venv/bin/python bench/writer/judge_probe.py /tmp/eval-drafts.jsonl [--threads N]

Scores every exported draft of the writer evaluation run against its brief and writes judge-scores.jsonl beside
this file with the editor's label (labels-default.jsonl) and the gate's verdict; the AUC figures are in
EVAL.md ("A judge from the writer itself").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation.prompts import build_messages

GGUF = HERE.parent.parent / ".aigc" / "models" / "gguf" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QUESTIONS = {
    "invents": "Does the text state any detail (a feature, offer, reason, activity, time, price or name) that the "
               "request does not give?",
    "faithful": "Does the text get every fact of the request right, and leave none of them out?",
}


def jsonl(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def auc(positives: list[float], negatives: list[float]) -> float:
    pairs = [(p > n) + 0.5 * (p == n) for p in positives for n in negatives]
    return sum(pairs) / len(pairs) if pairs else float("nan")


def main() -> None:
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("drafts", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    llm = llama_cpp.Llama(model_path=str(GGUF), n_ctx=2048, n_threads=args.threads, verbose=False)
    formatter = Jinja2ChatFormatter(template=llm.metadata["tokenizer.chat_template"], eos_token="<|im_end|>",
                                    bos_token="")

    def single_tokens(words: list[str]) -> list[int]:
        found = (llm.tokenize(word.encode(), add_bos=False, special=False) for word in words)
        return sorted({tokens[0] for tokens in found if len(tokens) == 1})

    yes = single_tokens(["yes", "Yes", " yes", " Yes", "YES"])
    no = single_tokens(["no", "No", " no", " No", "NO"])
    labels = {row["id"]: row for row in jsonl(HERE / "labels-default.jsonl")}
    run = json.loads((HERE / "drafts-default.json").read_text())
    verdicts = {f"{run['run']['commit']}-{d['id']}": d["verdict"] for d in run["drafts"]}
    results = []
    for draft in jsonl(args.drafts):
        request = build_messages(BriefSpec.model_validate(draft["brief"]))[1]["content"].split("\n\n", 1)[1]
        result = {"id": draft["id"], "verdict": verdicts[draft["id"]], "label": labels[draft["id"]]["label"],
                  "defects": labels[draft["id"]]["defects"]}
        started = time.perf_counter()
        for name, question in QUESTIONS.items():
            messages = [{"role": "system", "content": "You are a careful, strict editor."},
                        {"role": "user", "content": f"A writer was given this request:\n\n{request}\n\nThe writer "
                                                    f"wrote this text:\n\n{draft['text']}\n\n{question} Answer yes or no."}]
            tokens = llm.tokenize(formatter(messages=messages).prompt.encode(), add_bos=False, special=True)
            llm.reset()
            llm.eval(tokens)
            # The last position's logits straight from the context (Llama.scores holds them only with logits_all).
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(llm._ctx.ctx), shape=(llm.n_vocab(),))
            p = np.exp(logits - logits.max())
            result[name] = float(p[yes].sum() / (p[yes].sum() + p[no].sum()))
        result["seconds"] = round(time.perf_counter() - started, 1)
        results.append(result)
        print(json.dumps(result), flush=True)
    (HERE / "judge-scores.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    bad = [r for r in results if r["label"] == "not_publishable"]
    good = [r for r in results if r["label"] != "not_publishable"]
    for name, sign in (("invents", 1), ("faithful", -1)):
        approved = [r for r in results if r["verdict"] == "approved"]
        print(f"{name}: AUC {auc([sign * r[name] for r in bad], [sign * r[name] for r in good]):.3f} on "
              f"{len(results)}; among approved "
              f"{auc([sign * r[name] for r in approved if r in bad], [sign * r[name] for r in approved if r in good]):.3f}")


if __name__ == "__main__":
    main()
