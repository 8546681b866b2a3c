"""A person reviews a batch in the Prefect UI, in headless Chromium: at ordinary window sizes, in both of Prefect's
UIs, they see every draft's brief, text and decision control, and the database shows what they chose."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from review_ui import (
    ARGS,
    CHROMIUM,
    OUTPUT_DIR,
    SIZES,
    UIS,
    check_every_draft_is_seen,
    decide,
    edit_box,
    open_review,
)

from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
BRIEFS = """\
- ref: trees
  topic: Why cities should plant more street trees
  keywords: [trees]
- ref: sleep
  topic: Three simple habits for better sleep
- ref: cycling
  topic: The benefits of cycling to work
- ref: reading
  topic: Why reading aloud to children matters
"""


def paused_run_id(server, process: subprocess.Popen, timeout_s: float = 600) -> str:
    deadline = time.monotonic() + timeout_s
    query = {"flow_runs": {"state": {"name": {"any_": ["Paused"]}}}}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the batch exited ({process.returncode}) before pausing")
        runs = httpx.post(f"{server.api_url}/flow_runs/filter", json=query, timeout=10).json()
        if runs:
            return runs[0]["id"]
        time.sleep(1)
    raise AssertionError("the batch never paused for review")


def look_at_every_size(server, run_id: str, drafts: dict[int, tuple[str, str]]) -> None:
    """Both UIs, both window sizes: every draft seen, each edit box holding its draft's text; screenshots kept."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for ui in UIS:
                for width, height in SIZES:
                    page = browser.new_page(viewport={"width": width, "height": height})
                    modal = open_review(page, server.url, run_id, ui)
                    check_every_draft_is_seen(page, modal, drafts, f"review-form-{ui}-{width}x{height}")
                    for draft_id, (_, text) in drafts.items():
                        assert edit_box(modal, draft_id).input_value() == text
                    page.close()
        finally:
            browser.close()


def review_in_browser(server, run_id: str, decisions: dict[int, str], edits: dict[int, str]) -> Path:
    """In the newer UI (the server's default) at 1366x768: name, decisions and edits; screenshot; submit."""
    from playwright.sync_api import sync_playwright

    screenshot = OUTPUT_DIR / "review-form-filled.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            modal = open_review(page, server.url, run_id, "newer")
            modal.locator("textarea").first.fill("e2e-reviewer")  # the reviewer's name comes first
            for draft_id, decision in decisions.items():
                decide(page, modal, draft_id, decision)
            for draft_id, text in edits.items():
                edit_box(modal, draft_id).fill(text)
            page.screenshot(path=str(screenshot))
            modal.get_by_role("button", name="Resume").click()
            modal.wait_for(state="hidden", timeout=30_000)
        finally:
            browser.close()
    return screenshot


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/setup installs it)")
def test_review_form_in_prefect_ui_decides_what_is_published(prefect_server, tmp_path: Path, model_cache: Path) -> None:
    briefs = tmp_path / "briefs.yaml"
    briefs.write_text(BRIEFS)
    home = tmp_path / "home"
    env = {**prefect_server.env(), "AIGC_HOME": str(home), "AIGC_GENERATION__MAX_NEW_TOKENS": "48",
           "AIGC_CONFIG": str(tmp_path / "none.toml"), "AIGC_MODEL_CACHE": str(model_cache)}
    log = (tmp_path / "batch.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "aigc"), "run", "--briefs", str(briefs), "--review-mode", "human", "--candidates", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    try:
        run_id = paused_run_id(prefect_server, process)
        url = f"sqlite:///{(home / 'aigc.db').resolve()}"
        with session_scope(url) as session:
            drafts = {d.brief.ref: d for d in repo.list_drafts(session=session)}
            assert all(d.publications == [] for d in drafts.values())  # nothing out before the person decides
            shown = {d.id: (d.brief.topic, d.text) for d in drafts.values()}
            left_verdict = str(drafts["reading"].verdict.decision)
        look_at_every_size(prefect_server, run_id, shown)
        # trees approved, sleep rejected, cycling rewritten and approved, reading left to the gate.
        approve, reject, edit = drafts["trees"].id, drafts["sleep"].id, drafts["cycling"].id
        edited_text = "Cycling to work keeps you fit, saves money and clears your head."
        screenshot = review_in_browser(prefect_server, run_id, {approve: "approve", reject: "reject",
                                                                edit: "approve"}, {edit: edited_text})
        assert process.wait(timeout=300) == 0, (tmp_path / "batch.log").read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
        log.close()

    assert screenshot.stat().st_size > 10_000
    with session_scope(url) as session:
        result = {d.brief.ref: repo.draft_with_lineage(d.id, session=session) for d in repo.list_drafts(session=session)}
        reviews = {ref: [(r.reviewer, str(r.decision), r.edited_text) for r in d.reviews] for ref, d in result.items()}
        published = {ref: [p.text for p in d.publications] for ref, d in result.items()}
        original, left = result["trees"].text, result["reading"].text
    assert reviews == {
        "trees": [("e2e-reviewer", "approve", None)],
        "sleep": [("e2e-reviewer", "reject", None)],
        "cycling": [("e2e-reviewer", "approve", edited_text)],
        "reading": [],  # left to the gate: no decision of the reviewer's
    }
    # The gate decided the draft left to it, as if no person had looked: out exactly when it approved it.
    assert published == {"trees": [original], "sleep": [], "cycling": [edited_text],
                         "reading": [left] if left_verdict == "approved" else []}
