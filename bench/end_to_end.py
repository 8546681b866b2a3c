"""End to end: briefs per hour and peak RSS of `aigc run` on the embedded defaults, at two batch sizes."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, footer, header, table

AIGC = str(Path(sys.executable).with_name("aigc"))
TOPICS = ["Why cities should plant more street trees", "Three simple habits for better sleep",
          "The benefits of cycling to work", "How to start composting at home", "Saving water in the garden",
          "A beginner's guide to birdwatching", "Why libraries still matter", "Cooking with seasonal vegetables"]


def briefs_yaml(count: int) -> str:
    return "".join(f"- ref: e2e-{i:03d}\n  topic: {TOPICS[i % len(TOPICS)]} (part {i})\n  min_words: 20\n"
                   f"  max_words: 200\n" for i in range(count))


def run_batch(home: Path, count: int, candidates: int, env: dict[str, str]) -> dict[str, float]:
    import psutil

    briefs = home.parent / f"{home.name}.yaml"
    briefs.write_text(briefs_yaml(count))
    started = time.perf_counter()
    proc = subprocess.Popen([AIGC, "run", "--briefs", str(briefs), "--candidates", str(candidates), "--json"],
                            env={**env, "AIGC_HOME": str(home)}, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    watched = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            # The engine process alone: the temporary Prefect server is a child with its own memory.
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"aigc run failed:\n{err[-3000:]}")
    drafts = json.loads(out)["drafts"]
    if drafts != count * candidates:
        raise SystemExit(f"expected {count * candidates} drafts, the batch made {drafts}")
    return {"briefs": count, "drafts": drafts, "wall s": seconds,
            "briefs/hour": count * 3600 / seconds, "peak RSS MiB": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2,8", help="brief counts, run one after the other")
    parser.add_argument("--candidates", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=None, help="default: the settings' max_new_tokens")
    args = parser.parse_args()
    header("end to end: `aigc run` on embedded defaults (SmolLM2 text, MiniLM, alt-profanity-check, genbit)",
           ["prefect", "torch", "transformers", "sentence-transformers"])
    # A temporary Prefect server per run (each run has a fresh home, and a managed server per home would
    # outlive it), and no aigc.toml of the working tree. bench/startup.py measures the managed server.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "AIGC_CONFIG": "/nonexistent/aigc.toml",
           "AIGC_SERVER__MODE": "temporary"}
    env.pop("PREFECT_API_URL", None)
    if args.new_tokens:
        env["AIGC_GENERATION__MAX_NEW_TOKENS"] = str(args.new_tokens)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        # Every run has a fresh home; a shared model cache keeps the one-time GGUF conversion (made by the
        # warm-up run, as `aigc models prepare` does at set-up) out of the timed runs.
        env.setdefault("AIGC_MODEL_CACHE", str(Path(scratch) / "model-cache"))
        run_batch(Path(scratch) / "warm", 1, 1, env)
        for count in (int(s) for s in args.sizes.split(",")):
            rows.append(run_batch(Path(scratch) / f"run-{count}", count, args.candidates, env))
            print(f"  {count} briefs done", flush=True)
    table(rows, ["briefs", "drafts", "wall s", "briefs/hour", "peak RSS MiB"])
    if len(rows) > 1:
        growth = rows[-1]["peak RSS MiB"] - rows[0]["peak RSS MiB"]
        print(f"peak RSS change from {rows[0]['briefs']} to {rows[-1]['briefs']} briefs: {growth:+.0f} MiB")
    footer()


if __name__ == "__main__":
    main()
