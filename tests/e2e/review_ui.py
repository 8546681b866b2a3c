"""Browser helpers for the review form: open it in either Prefect UI, find a draft's section, check what a person
sees (not only what the page holds), keep screenshots, and pick a decision."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update"]
OUTPUT_DIR = Path(os.environ.get("AIGC_TEST_OUTPUT", Path(__file__).resolve().parents[2] / "test-output"))
# The classic UI serves a run's own link (the one in the logs); the newer one is what the server's root opens.
UIS = {"classic": "", "newer": "/v2"}
SIZES = [(1366, 768), (1920, 1080)]
# The selects are pop-overs: a button in the newer UI, a styled control in the classic one.
SELECT = "button[aria-haspopup=listbox], .p-select-button__control"

# Seen: a non-zero box, inside the window and the modal, and on top at its visible middle (not clipped by a
# scrolling parent, not collapsed, not covered). Playwright's "visible" only asks for a non-empty box.
SEEN = """el => {
  const r = el.getBoundingClientRect(), modal = el.closest('[role=dialog]').getBoundingClientRect();
  if (r.left < Math.max(0, modal.left) - 1 || r.right > Math.min(innerWidth, modal.right) + 1) return 'cut off at the side';
  // A line box of the element (a link may wrap: the middle of its whole box can fall beside it).
  const line = [...el.getClientRects()].find(q => q.width >= 1 && q.height >= 1 && q.bottom > 0 && q.top < innerHeight);
  if (line === undefined) return 'no size in the window';
  const y = (Math.max(line.top, 0) + Math.min(line.bottom, innerHeight)) / 2;
  const hit = document.elementFromPoint(line.left + line.width / 2, y);
  return hit !== null && (hit === el || el.contains(hit)) ? 'seen' : 'hidden under ' + (hit && hit.outerHTML.slice(0, 80));
}"""


def open_review(page: Any, server_url: str, run_id: str, ui: str) -> Any:
    """The paused run's Resume modal, in the classic UI or the newer one."""
    page.goto(f"{server_url}{UIS[ui]}/runs/flow-run/{run_id}")
    if ui == "newer":  # Resume sits in the run's menu there
        page.get_by_role("button", name="Open menu").first.click()
        page.get_by_role("menuitem", name="Resume").click()
    else:
        page.get_by_role("button", name="Resume").first.click()
    modal = page.get_by_role("dialog")
    modal.get_by_text("Reviewer", exact=True).wait_for()
    return modal


def section(modal: Any, draft_id: int) -> Any:
    """A draft's section: the nearest element around its title that holds a select (its decision)."""
    title = modal.get_by_text(re.compile(rf"^Draft {draft_id} · ")).first
    return title.locator("xpath=ancestor::*[.//*[@aria-haspopup='listbox' or contains(@class, 'p-select-button')]][1]")


def assert_seen(locator: Any, what: str) -> None:
    locator.scroll_into_view_if_needed()
    seen = locator.evaluate(SEEN)
    assert seen == "seen", f"{what}: {seen} ({locator.bounding_box()})"


def snippets(text: str) -> list[str]:
    """A run of plain words from the start of a draft and one from its end: markdown shows those as written."""
    runs = re.findall(r"[A-Za-z][A-Za-z ,']{10,}[A-Za-z]", text)
    assert runs, f"no plain words to look for in {text!r}"
    return [runs[0][:40].strip(), runs[-1][-40:].strip()]


def check_every_draft_is_seen(page: Any, modal: Any, drafts: dict[int, tuple[str, str | None]], name: str) -> None:
    """Each draft's brief, text (start and end) and decision control are seen; a screenshot of each section."""
    page.screenshot(path=str(OUTPUT_DIR / f"{name}.png"))
    for draft_id, (topic, text) in drafts.items():
        part = section(modal, draft_id)
        assert_seen(part.get_by_text(f"Brief: {topic}"), f"{name}: the brief of draft {draft_id}")
        for snippet in snippets(text) if text else []:
            assert_seen(part.get_by_text(snippet).first, f"{name}: {snippet!r} of draft {draft_id}")
        assert_seen(part.locator(SELECT).first, f"{name}: the decision on draft {draft_id}")
        page.screenshot(path=str(OUTPUT_DIR / f"{name}-draft-{draft_id}.png"))


def decide(page: Any, modal: Any, draft_id: int, decision: str) -> None:
    """Pick a decision from the draft's select; its options open outside the modal."""
    from playwright.sync_api import expect

    control = section(modal, draft_id).locator(SELECT).first
    control.scroll_into_view_if_needed()
    if "p-select-button__control" in (control.get_attribute("class") or ""):
        control.focus()  # the classic UI's select opens from the keyboard; a click did not open it
        page.keyboard.press("ArrowDown")
    else:
        control.click()
    page.get_by_role("option", name=decision, exact=True).click()
    expect(control).to_have_text(decision)


def edit_box(modal: Any, draft_id: int) -> Any:
    return section(modal, draft_id).locator("textarea").first
