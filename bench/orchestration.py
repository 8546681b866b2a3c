"""Orchestration overhead: the content_batch Prefect flow vs plain Python calling the same library functions."""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each is kept")
    args = parser.parse_args()
    header(f"orchestration ({args.briefs} briefs x {args.candidates} candidates, fake:echo?delay={args.delay}, "
           "format scorer, SQLite)", ["prefect", "sqlalchemy", "pydantic"])
    os.environ["AIGC_TEXT_MODEL"] = f"fake:echo?delay={args.delay}"
    os.environ["AIGC_TEXT_SCORERS"] = '["format"]'
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network here: no telemetry attempts
    briefs = make_briefs(args.briefs)
    refs = [b.ref for b in briefs]
    from prefect.testing.utilities import prefect_test_harness

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch, prefect_test_harness(server_startup_timeout=180):
        server_s = time.perf_counter() - started
        from flows.content_batch import ContentBatchConfig, content_batch

        root = Path(scratch)
        # Warm-up of both paths on 2 briefs: first-run imports and client set-up are not per batch.
        fresh_home(root, "warm-plain", briefs[:2])
        plain_python(refs[:2], 1, seed=1)
        fresh_home(root, "warm-flow", briefs[:2])
        content_batch(ContentBatchConfig(brief_refs=refs[:2], candidates=1, seed=1))
        plain_times, flow_times = [], []
        for round_ in range(args.rounds):
            fresh_home(root, f"plain-{round_}", briefs)
            t0 = time.perf_counter()
            plain = plain_python(refs, args.candidates, seed=1)
            plain_times.append(time.perf_counter() - t0)
            fresh_home(root, f"flow-{round_}", briefs)
            t0 = time.perf_counter()
            flowed = content_batch(ContentBatchConfig(brief_refs=refs, candidates=args.candidates, seed=1))
            flow_times.append(time.perf_counter() - t0)
            assert flowed["drafts"] == plain["drafts"] == args.briefs * args.candidates, (flowed, plain)
            print(f"  round {round_}: plain {plain_times[-1]:.2f} s, flow {flow_times[-1]:.2f} s", flush=True)
    plain_s, flow_s = min(plain_times), min(flow_times)
    print(f"temporary Prefect server start (not counted below): {server_s:.1f} s")
    table([
        {"path": "plain Python (library calls)", "wall s": plain_s, "drafts/s": args.briefs * args.candidates / plain_s},
        {"path": "Prefect flow content_batch", "wall s": flow_s, "drafts/s": args.briefs * args.candidates / flow_s},
    ], ["path", "wall s", "drafts/s"])
    print(f"orchestration overhead: {(flow_s - plain_s) / flow_s:.1%} of the flow's wall time "
          f"(target < 10%); flow / plain = {flow_s / plain_s:.2f}")
    footer()


if __name__ == "__main__":
    main()
