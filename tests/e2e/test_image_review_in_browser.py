"""Image drafts in the Prefect UI, in headless Chromium: the review form and the gallery artifact show thumbnails."""

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
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update"]
BRIEFS = """\
- ref: trees
  topic: Why cities should plant more street trees
  keywords: [trees]
- ref: team-face
  modality: image
  topic: A friendly face for the team page
  channel: web
"""
# Rendered <img> elements with a data: PNG source that actually decoded (a broken image has naturalWidth 0).
DECODED = "els => els.filter(e => e.src.startsWith('data:image/png') && e.complete && e.naturalWidth > 0).length"


def wait_for(predicate, what: str, process: subprocess.Popen | None = None, timeout_s: float = 600):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the batch exited ({process.returncode}) before {what}")
        found = predicate()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def filter_api(server, kind: str, query: dict) -> list:  # type: ignore[no-untyped-def]
    return httpx.post(f"{server.api_url}/{kind}/filter", json=query, timeout=10).json()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/setup installs it)")
def test_image_thumbnails_render_in_review_form_and_gallery_artifact(prefect_server, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    briefs = tmp_path / "briefs.yaml"
    briefs.write_text(BRIEFS)
    home = tmp_path / "home"
    env = {**prefect_server.env(), "AIGC_HOME": str(home), "AIGC_CONFIG": str(tmp_path / "none.toml"),
           "AIGC_TEXT_MODEL": "fake:echo", "AIGC_TEXT_SCORERS": '["format"]', "HF_HUB_OFFLINE": "1"}
    log = (tmp_path / "batch.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "aigc"), "run", "--briefs", str(briefs), "--review-mode", "human", "--candidates", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    try:
        paused = {"flow_runs": {"state": {"name": {"any_": ["Paused"]}}}}
        run_id = wait_for(lambda: filter_api(prefect_server, "flow_runs", paused), "pausing", process)[0]["id"]
        url = f"sqlite:///{(home / 'aigc.db').resolve()}"
        with session_scope(url) as session:
            drafts = {d.brief.ref: d.id for d in repo.list_drafts(session=session)}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1600})
                page.goto(f"{prefect_server.url}/runs/flow-run/{run_id}")
                page.get_by_role("button", name="Resume").first.click()
                modal = page.get_by_role("dialog")
                modal.get_by_text("2 draft(s) waiting for review").wait_for()
                thumbnail = modal.locator("img[src^='data:image/png']")
                thumbnail.first.wait_for()
                assert wait_for(lambda: modal.locator("img").evaluate_all(DECODED), "the thumbnail", timeout_s=30) == 1
                thumbnail.first.scroll_into_view_if_needed()
                page.screenshot(path=str(OUTPUT_DIR / "review-form-image.png"))

                def field(title: str):  # type: ignore[no-untyped-def]
                    label = page.locator(".schema-form-property__label", has_text=re.compile("^" + re.escape(title)))
                    return modal.locator(".schema-form-property").filter(has=label)

                field("Reviewer").locator("textarea, input").first.fill("e2e-reviewer")
                face = drafts["team-face"]
                select = field(f"Decision on draft {face} ").locator(".p-select-button__control")
                # The gate held the image (no CLIP weights offline); the person approves it.
                select.focus()
                page.keyboard.press("ArrowDown")
                page.get_by_role("listbox").get_by_role("option", name="approve", exact=True).click()
                field(f"Caption for image draft {face}").locator("textarea, input").first.fill("Meet the team.")
                modal.get_by_role("button", name="Submit").click()
                modal.wait_for(state="hidden", timeout=30_000)
                assert process.wait(timeout=300) == 0, (tmp_path / "batch.log").read_text()[-3000:]

                gallery = filter_api(prefect_server, "artifacts", {"artifacts": {"key": {"like_": "-images"}}})
                assert len(gallery) == 1, gallery
                page.goto(f"{prefect_server.url}/artifacts/artifact/{gallery[0]['id']}")
                page.locator("img[src^='data:image/png']").first.wait_for()
                assert wait_for(lambda: page.locator("img").evaluate_all(DECODED), "the gallery", timeout_s=30) == 1
                page.screenshot(path=str(OUTPUT_DIR / "image-gallery-artifact.png"))
            finally:
                browser.close()
    finally:
        if process.poll() is None:
            process.kill()
        log.close()

    with session_scope(url) as session:
        draft = repo.draft_with_lineage(drafts["team-face"], session=session)
        (publication,) = draft.publications
        assert [(r.reviewer, str(r.decision), str(r.gate_decision)) for r in draft.reviews] == [
            ("e2e-reviewer", "approve", "held")]
    markdown = Path(publication.location)
    assert markdown.read_text() == f"![A friendly face for the team page](draft-{draft.id}.png)\n\nMeet the team.\n"
    assert (markdown.parent / f"draft-{draft.id}.png").is_file()
