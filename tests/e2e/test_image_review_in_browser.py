"""Image drafts in the Prefect UI, in headless Chromium: the review form and the gallery artifact show thumbnails."""

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
    assert_seen,
    check_every_draft_is_seen,
    decide,
    edit_box,
    open_review,
    section,
)

from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
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


def see_thumbnail(page, modal, name: str) -> None:  # type: ignore[no-untyped-def]
    """The one image in the form decoded, and a person sees it."""
    images = modal.locator("img")
    assert wait_for(lambda: images.evaluate_all(DECODED), "the thumbnail", timeout_s=30) == 1
    assert_seen(modal.locator("img[src^='data:image/png']").first, f"{name}: the thumbnail")
    page.screenshot(path=str(OUTPUT_DIR / f"{name}-thumbnail.png"))


def look_at_every_size(browser, server_url: str, run_id: str, drafts: dict[int, tuple[str, str | None]],  # type: ignore[no-untyped-def]
                       face: int) -> str:
    """Both UIs, both sizes: each draft seen. The newer UI shows the thumbnail above the sections; the classic one
    collapses that description, so the image's section links the review artifact that holds it. Returns the link."""
    link = ""
    for ui in UIS:
        for width, height in SIZES:
            page = browser.new_page(viewport={"width": width, "height": height})
            modal = open_review(page, server_url, run_id, ui)
            name = f"review-form-image-{ui}-{width}x{height}"
            check_every_draft_is_seen(page, modal, drafts, name)
            if ui == "newer":
                see_thumbnail(page, modal, name)
            else:
                anchor = section(modal, face).get_by_role("link").first
                assert_seen(anchor, f"{name}: the link to the review artifact")
                link = anchor.get_attribute("href")
            page.close()
    return link


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
            shown = {d.id: (d.brief.topic, d.text) for d in repo.list_drafts(session=session)}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                link = look_at_every_size(browser, prefect_server.url, run_id, shown, drafts["team-face"])
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                page.goto(link)  # the review artifact: the thumbnail a classic-UI reviewer opens from the form
                assert wait_for(lambda: page.locator("img").evaluate_all(DECODED), "the artifact", timeout_s=30) == 1
                page.screenshot(path=str(OUTPUT_DIR / "review-artifact-image.png"))

                # In the classic UI (the run's own link): the text draft is left to the gate, the image approved.
                modal = open_review(page, prefect_server.url, run_id, "classic")
                modal.locator("textarea").first.fill("e2e-reviewer")  # the reviewer's name comes first
                face = drafts["team-face"]
                # The gate held the image (no CLIP weights offline); the person approves it.
                decide(page, modal, face, "approve")
                edit_box(modal, face).fill("Meet the team.")
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
        assert repo.draft_with_lineage(drafts["trees"], session=session).reviews == []  # left to the gate
    markdown = Path(publication.location)
    assert markdown.read_text() == f"![A friendly face for the team page](draft-{draft.id}.png)\n\nMeet the team.\n"
    assert (markdown.parent / f"draft-{draft.id}.png").is_file()
