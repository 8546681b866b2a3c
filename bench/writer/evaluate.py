"""Draft the writer evaluation briefs with `aigc run` on a scratch home and write every draft out for reading.

    .venv/bin/python bench/writer/evaluate.py                       # the default writer
    .venv/bin/python bench/writer/evaluate.py --model bundled:qwen2.5-coder-0.5b-instruct --name qwen05

Writes bench/writer/drafts-NAME.md (every draft: verdict, reasons, choice, how it ended, the text) and
drafts-NAME.json. The editor's verdicts on the chosen drafts go in bench/writer/EVAL.md by hand: reading is
the measurement here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AIGC = str(Path(sys.executable).with_name("aigc"))


def aigc(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([AIGC, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"aigc {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="text model spec (default: the settings' default writer)")
    parser.add_argument("--name", default="default", help="suffix of the output files")
    parser.add_argument("--briefs", default=str(HERE / "briefs.yaml"))
    parser.add_argument("--candidates", type=int, default=2)
    parser.add_argument("--model-cache", default=str(ROOT / ".aigc" / "models"),
                        help="shared model cache (joined GGUFs, converted models)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="aigc-writer-eval-"))
    # A temporary Prefect server: a managed one for this scratch home would outlive the evaluation.
    env = {**os.environ, "AIGC_HOME": str(home), "AIGC_MODEL_CACHE": args.model_cache, "HF_HUB_OFFLINE": "1",
           "AIGC_CONFIG": str(home / "none.toml"), "AIGC_SERVER__MODE": "temporary"}
    run_args = ["run", "--briefs", args.briefs, "--candidates", str(args.candidates), "--json"]
    if args.model:
        run_args += ["--model", args.model]
    # The commit of the code that drafts: read before the run, which may outlast later commits.
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    started = time.perf_counter()
    summary = json.loads(_last_json(aigc(env, *run_args)))
    seconds = time.perf_counter() - started
    # ru_maxrss of the largest child so far (Linux: KiB): the `aigc run` process with its models.
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    drafts = json.loads(aigc(env, "drafts", "list", "--batch", str(summary["batch_id"]), "--json"))
    header = {
        "model": drafts[0]["model_version"] if drafts else args.model, "commit": commit,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load": os.getloadavg(), "seconds": round(seconds, 1), "peak_rss_mib": round(peak_mib), "summary": summary,
        "params": drafts[0]["params"] if drafts else {},
    }
    (HERE / f"drafts-{args.name}.json").write_text(json.dumps({"run": header, "drafts": drafts}, indent=2))
    lines = [f"# Writer evaluation drafts: {header['model']}", "",
             f"Commit {commit}, {header['machine']}, load {header['load'][0]:.2f}; `aigc run` took "
             f"{seconds:.0f} s (peak RSS {peak_mib:.0f} MiB) for {summary['drafts']} drafts of {summary['briefs']} briefs "
             f"({', '.join(f'{n} {k}' for k, n in sorted(summary['decisions'].items()))}).", ""]
    for draft in drafts:
        words = len((draft.get("text") or "").split())
        lines += [f"## {draft['brief_ref']} #{draft['candidate_index']} (draft {draft['id']}): {draft['verdict']}"
                  f"{' - ' + draft['choice'] if draft.get('choice') else ''}", "",
                  f"- reasons: {'; '.join(draft['reasons'])}",
                  f"- {words} words; {draft['params'].get('finish')}; cleaned: {draft['params'].get('cleaned', [])}",
                  "", "```text", draft.get("text") or "", "```", ""]
    (HERE / f"drafts-{args.name}.md").write_text("\n".join(lines))
    print(f"{summary['drafts']} drafts in {seconds:.0f} s -> {HERE / f'drafts-{args.name}.md'}")


def _last_json(output: str) -> str:
    # `aigc run --json` prints the summary as one JSON document after any log lines.
    start = output.find("{")
    return output[start:]


if __name__ == "__main__":
    main()
