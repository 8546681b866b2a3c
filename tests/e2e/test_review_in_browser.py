"""A person reviews a batch in the Prefect UI, in headless Chromium, and the database shows their choices."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT_DIR = Path(os.environ.get("AIGC_TEST_OUTPUT", Path(__file__).resolve().parents[2] / "test-output"))
BRIEFS = """\
- ref: trees
  topic: Why cities should plant more street trees
  keywords: [trees]
- ref: sleep
  topic: Three simple habits for better sleep
- ref: cycling
  topic: The benefits of cycling to work
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


def review_in_browser(server, run_id: str, choices: dict[int, tuple[str, str]]) -> Path:
    """Open the paused run, fill the form (decision and edit per draft), screenshot it, submit."""
    from playwright.sync_api import sync_playwright

    screenshot = OUTPUT_DIR / "review-form.png"
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
            "--disable-background-networking", "--disable-component-update"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"{server.url}/runs/flow-run/{run_id}")
            page.get_by_role("button", name="Resume").first.click()
            modal = page.get_by_role("dialog")
            modal.get_by_text("3 draft(s) waiting for review").wait_for()

            def field(title: str):  # type: ignore[no-untyped-def]
                label = page.locator(".schema-form-property__label", has_text=re.compile("^" + re.escape(title)))
                return modal.locator(".schema-form-property").filter(has=label)

            field("Reviewer").locator("textarea, input").first.fill("e2e-reviewer")
            for draft_id, (decision, edit) in choices.items():
                select = field(f"Decision on draft {draft_id} ").locator(".p-select-button__control")
                if select.inner_text().strip() != decision:
                    # The selects are pop-overs, opened from the keyboard; their options live outside the modal.
                    select.focus()
                    page.keyboard.press("ArrowDown")
                    page.get_by_role("listbox").get_by_role("option", name=decision, exact=True).click()
                assert select.inner_text().strip() == decision
                if edit:
                    field(f"Edited text of draft {draft_id}").locator("textarea, input").first.fill(edit)
            modal.locator(".p-modal__body").evaluate("body => body.scrollTo(0, 0)")
            page.screenshot(path=str(screenshot))
            modal.get_by_role("button", name="Submit").click()
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
    try:
        run_id = paused_run_id(prefect_server, process)
        url = f"sqlite:///{(home / 'aigc.db').resolve()}"
        with session_scope(url) as session:
            drafts = {d.brief.ref: d for d in repo.list_drafts(session=session)}
            assert all(d.publications == [] for d in drafts.values())  # nothing out before the person decides
        approve, reject, edit = drafts["trees"].id, drafts["sleep"].id, drafts["cycling"].id
        edited_text = "Cycling to work keeps you fit, saves money and clears your head."
        screenshot = review_in_browser(prefect_server, run_id, {
            approve: ("approve", ""), reject: ("reject", ""), edit: ("approve", edited_text),
        })
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
        original = result["trees"].text
    assert reviews == {
        "trees": [("e2e-reviewer", "approve", None)],
        "sleep": [("e2e-reviewer", "reject", None)],
        "cycling": [("e2e-reviewer", "approve", edited_text)],
    }
    assert published == {"trees": [original], "sleep": [], "cycling": [edited_text]}
