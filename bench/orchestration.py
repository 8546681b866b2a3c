"""Orchestration overhead: the content_batch Prefect flow vs plain Python calling the same library functions."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from _common import footer, header, table


def make_briefs(count: int) -> list:
    from aigc_workflow.briefs import BriefSpec

    return [BriefSpec(ref=f"brief-{i:04d}", topic=f"Topic number {i} about city trees", keywords=("trees",),
                      channel="blog") for i in range(count)]


def fresh_home(root: Path, name: str, briefs: list) -> None:
    """A new home and database holding the briefs; the engine reads both from the environment."""
    from aigc_workflow import workers
    from aigc_workflow.db import repo
    from aigc_workflow.db.migrate import ensure_schema
    from aigc_workflow.db.session import session_scope
    from aigc_workflow.settings import get_settings

    home = root / name
    os.environ["AIGC_HOME"] = str(home)
    os.environ["AIGC_DATABASE_URL"] = f"sqlite:///{home / 'aigc.db'}"
    get_settings.cache_clear()
    workers.clear()
    settings = get_settings()
    ensure_schema(settings.db_url)
    with session_scope(settings.db_url) as session:
        repo.upsert_briefs(briefs, session=session)


def plain_python(refs: list[str], candidates: int, seed: int) -> dict:
    """The flow's sequence of library calls, with nothing around them."""
    from aigc_workflow import batch, report, workers
    from aigc_workflow.db.models import BatchStatus
    from aigc_workflow.settings import get_settings

    settings = get_settings()
    batch_id, brief_ids = batch.start_batch(settings, brief_refs=refs, seed=seed, candidates=candidates,
                                            review_mode="auto", config={})
    model = batch.text_model_choice(settings)
    generator = workers.get_generator("text", settings, spec=model.spec, registered=model.registered)
    planned = batch.plan(settings, brief_ids, batch_seed=seed, candidates=candidates,
                         model_version=generator.model_version, params=generator.params)
    draft_ids: list[int] = []
    size = settings.generation.batch_size * 2  # the flow's chunking
    for start in range(0, len(planned), size):
        draft_ids += batch.generate_and_store(settings, generator, batch_id, planned[start:start + size])
    batch.score_drafts(settings, draft_ids, workers.get_scorers(settings.text_scorers, settings))
    batch.gate_drafts(settings, draft_ids)
    batch.publish_approved(settings, draft_ids, "auto")
    rows = report.batch_rows(settings, draft_ids)
    summary = report.summarize(rows)
    report.table_rows(rows)
    report.markdown(batch_id, summary)
    batch.finish_batch(settings, batch_id, BatchStatus.SUCCEEDED, summary)
    return {"batch_id": batch_id, **summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--briefs", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per generate call of the fake")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; best and median are shown")
    args = parser.parse_args()
    header(f"orchestration ({args.briefs} briefs x {args.candidates} candidates, fake:echo?delay={args.delay}, "
           "format scorer, SQLite)", ["prefect", "sqlalchemy", "pydantic"])
    os.environ["AIGC_TEXT_MODEL"] = f"fake:echo?delay={args.delay}"
    os.environ["AIGC_TEXT_SCORERS"] = '["format"]'
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here: no telemetry attempts
    briefs = make_briefs(args.briefs)
    refs = [b.ref for b in briefs]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        # As `aigc run` does with AIGC_SERVER__MODE=temporary: no PREFECT_API_URL, so Prefect runs the flow on
        # its temporary server (here with a scratch PREFECT_HOME, not the user's database), under the engine's
        # run settings. What the managed server saves on start-up is measured by bench/startup.py.
        os.environ.pop("PREFECT_API_URL", None)
        os.environ["PREFECT_HOME"] = str(root / "prefect-home")
        from flows.content_batch import ContentBatchConfig, content_batch
        from flows.runtime import run_settings

        from aigc_workflow.settings import Settings

        def flow_run(config: ContentBatchConfig, *, heartbeats: bool) -> dict:
            if heartbeats:  # Prefect's defaults, as a run on a long-lived server gets them
                return content_batch(config)
            with run_settings(Settings(server={"mode": "temporary"})):
                return content_batch(config)

        # Warm-up of every path on 2 briefs: the temporary server's start, imports and client set-up.
        started = time.perf_counter()
        fresh_home(root, "warm-flow", briefs[:2])
        flow_run(ContentBatchConfig(brief_refs=refs[:2], candidates=1, seed=1), heartbeats=False)
        server_s = time.perf_counter() - started
        fresh_home(root, "warm-plain", briefs[:2])
        plain_python(refs[:2], 1, seed=1)
        times: dict[str, list[float]] = {"plain": [], "flow": [], "flow+heartbeats": []}
        config = ContentBatchConfig(brief_refs=refs, candidates=args.candidates, seed=1)
        for round_ in range(args.rounds):
            for path in times:
                fresh_home(root, f"{path}-{round_}", briefs)
                t0 = time.perf_counter()
                result = (plain_python(refs, args.candidates, seed=1) if path == "plain"
                          else flow_run(config, heartbeats=path == "flow+heartbeats"))
                times[path].append(time.perf_counter() - t0)
                assert result["drafts"] == args.briefs * args.candidates, result
            print("  round " + str(round_) + ": " + ", ".join(f"{p} {t[-1]:.2f} s" for p, t in times.items()),
                  flush=True)
    best = {path: min(values) for path, values in times.items()}
    median = {path: statistics.median(values) for path, values in times.items()}
    drafts = args.briefs * args.candidates
    print(f"temporary Prefect server start and first 2-draft run (not counted below): {server_s:.1f} s")
    labels = {"plain": "plain Python (library calls)", "flow": "Prefect flow, as `aigc run` runs it",
              "flow+heartbeats": "Prefect flow, Prefect's default flow-run heartbeats"}
    table([{"path": labels[p], "best s": best[p], "median s": median[p], "drafts/s (best)": drafts / best[p]}
           for p in times], ["path", "best s", "median s", "drafts/s (best)"])
    for path in ("flow", "flow+heartbeats"):
        for name, pick in (("best", best), ("median", median)):
            print(f"orchestration overhead ({path}, {name} of {args.rounds}): "
                  f"{(pick[path] - pick['plain']) / pick[path]:.1%} of the flow's wall time (target < 10%); "
                  f"flow / plain = {pick[path] / pick['plain']:.2f}")
    footer()


if __name__ == "__main__":
    main()
