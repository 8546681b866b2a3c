"""Build the labelled-drafts set: drafts of the writer evaluation runs, out for reading, labels back in.

    .venv/bin/python bench/writer/labelling.py export drafts-default.json drafts-smollm2.json > /tmp/drafts.jsonl
    .venv/bin/python bench/writer/labelling.py merge /tmp/labels-*.jsonl --drafts /tmp/drafts.jsonl
    .venv/bin/python bench/writer/labelling.py table drafts-default.json     # the EVAL.md table
    .venv/bin/python bench/writer/labelling.py table drafts-default.json --labels labels-default.jsonl

`export` writes one object a draft (id, brief, text) for an editor to read; `merge` joins the editor's lines
({"id", "label", "defects", "note"}) with the drafts and writes aigc_workflow/filters/data/labelled_drafts.jsonl,
checked by the same loader `aigc filters evaluate` uses. Texts written for the briefs by an editor come in as
label lines that carry their own "text" and "brief_ref" (source "written for the brief").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from aigc_workflow.filters.drafts import default_path, load_labelled_drafts  # noqa: E402


def briefs() -> dict[str, dict]:  # type: ignore[type-arg]
    return {b["ref"]: b for b in yaml.safe_load((HERE / "briefs.yaml").read_text())}


_MD_DRAFT = re.compile(r"^## (?P<ref>\S+) #\d+ \(draft (?P<id>\d+)\): (?P<verdict>\w+).*?\n```text\n(?P<text>.*?)\n```",
                       re.MULTILINE | re.DOTALL)


def drafts_of(run_file: Path) -> list[dict]:  # type: ignore[type-arg]
    if run_file.suffix == ".md":  # a run kept only as its markdown (evaluate.py writes both)
        page = run_file.read_text()
        model = re.search(r"^# Writer evaluation drafts: (\S+)", page, re.MULTILINE).group(1)
        commit = re.search(r"^Commit (\w+),", page, re.MULTILINE).group(1)
        run = {"run": {"commit": commit}, "drafts": [
            {"id": int(m["id"]), "brief_ref": m["ref"], "verdict": m["verdict"], "text": m["text"],
             "model_version": model} for m in _MD_DRAFT.finditer(page)]}
    else:
        run = json.loads(run_file.read_text())
    commit, by_ref = run["run"]["commit"], briefs()
    return [{"id": f"{commit}-{d['id']}", "brief": by_ref[d["brief_ref"]], "text": d["text"] or "",
             "source": f"{d['model_version']} at {commit}, draft {d['id']} ({d['verdict']})"}
            for d in run["drafts"] if d.get("text")]


def export(run_files: list[str]) -> None:
    for run_file in run_files:
        for draft in drafts_of(HERE / run_file if not Path(run_file).exists() else Path(run_file)):
            print(json.dumps(draft, ensure_ascii=False))


def merge(label_files: list[str], draft_files: list[str]) -> None:
    """Join label lines with the exported drafts they name (or the text they carry) into the labelled set."""
    known = {d["id"]: d for f in draft_files for d in map(json.loads, Path(f).read_text().splitlines())}
    by_ref, out = briefs(), []
    for label_file in label_files:
        for number, line in enumerate(Path(label_file).read_text().splitlines(), start=1):
            if not line.strip():
                continue
            label = json.loads(line)
            if "text" in label:  # written for the brief
                draft = {"id": label["id"], "brief": by_ref[label["brief_ref"]], "text": label["text"],
                         "source": "written for the brief by an editor"}
            elif label["id"] in known:
                draft = known[label["id"]]
            else:
                raise SystemExit(f"{label_file}, line {number}: no draft {label['id']!r} in {draft_files}")
            out.append({**draft, "label": label["label"], "defects": label.get("defects", []),
                        "note": label.get("note", "")})
    target = default_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_suffix(".jsonl.new")  # checked before it replaces the set
    staged.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sorted(out, key=lambda r: r["id"])))
    loaded = load_labelled_drafts(staged)
    staged.replace(target)
    print(f"{len(loaded)} labelled drafts -> {target}")


def table(run_file: str, label_files: list[str] | None = None) -> None:
    """The EVAL.md table of a run: each brief's chosen draft with the editor's label, and the totals.

    Labels come from the labelled set, or from `label_files` (editor lines, as `merge` reads them) for a run
    read without adding its drafts to the set (the set is training and calibration data for the filters)."""
    run = json.loads((HERE / run_file).read_text())
    commit = run["run"]["commit"]
    if label_files:
        lines = [json.loads(line) for f in label_files for line in Path(f).read_text().splitlines() if line.strip()]
        labels = {r["id"]: _Label(r["label"]) for r in lines}
        notes = {r["id"]: r.get("note", "") for r in lines}
    else:
        labels = {d.id: d for d in load_labelled_drafts()}
        notes = {r["id"]: r.get("note", "") for r in map(json.loads, default_path().read_text().splitlines())}
    chosen = {d["brief_ref"]: d for d in run["drafts"] if d.get("choice") == "chosen"}
    counts = {"publishable": 0, "light_edit": 0, "not_publishable": 0, "unlabelled": 0}
    print("| brief | chosen draft | verdict | why |\n|---|---|---|---|")
    for ref in dict.fromkeys(d["brief_ref"] for d in run["drafts"]):
        draft = chosen.get(ref)
        if draft is None:
            print(f"| {ref} | none approved | - | every candidate rejected or held |")
            continue
        key = f"{commit}-{draft['id']}"
        label = labels[key].label if key in labels else "unlabelled"
        counts[label] += 1
        why = notes.get(key, "").replace("|", "/")
        print(f"| {ref} | #{draft['candidate_index']} (draft {draft['id']}) | {label.replace('_', ' ')} | {why} |")
    briefs_total = len({d["brief_ref"] for d in run["drafts"]})
    approved = sum(v for k, v in counts.items() if k != "unlabelled") + counts["unlabelled"]
    good = counts["publishable"] + counts["light_edit"]
    print(f"\nBriefs with a chosen draft: {len(chosen)}/{briefs_total} ({len(chosen) / briefs_total:.0%}; target 80%). "
          f"Of the chosen: {counts['publishable']} as is, {counts['light_edit']} light edit, "
          f"{counts['not_publishable']} not publishable"
          + (f", {counts['unlabelled']} unlabelled" if counts["unlabelled"] else "")
          + f"; publishable after at most a light edit {good}/{approved} ({good / max(approved, 1):.0%}; target 90%).")


class _Label:
    def __init__(self, label: str) -> None:
        self.label = label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("export").add_argument("runs", nargs="+")
    merging = sub.add_parser("merge")
    merging.add_argument("labels", nargs="+")
    merging.add_argument("--drafts", nargs="+", required=True, help="the files `export` wrote")
    tabling = sub.add_parser("table")
    tabling.add_argument("run")
    tabling.add_argument("--labels", nargs="*", help="editor label files to read instead of the labelled set")
    args = parser.parse_args()
    if args.command == "export":
        export(args.runs)
    elif args.command == "table":
        table(args.run, args.labels)
    else:
        merge(args.labels, args.drafts)


if __name__ == "__main__":
    main()
