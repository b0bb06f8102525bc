"""Look at the Prefect UI as an operator would: headless Debian Chromium driven by Playwright."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from tests.helpers import PATIENCE_SECONDS

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def latest_artifact_id(api_url: str, key: str) -> str:
    """Return the id of the newest artifact with this key."""
    found = httpx.post(f"{api_url}/artifacts/filter", timeout=PATIENCE_SECONDS,
                       json={"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1}).json()
    assert found, f"no artifact {key!r}"
    return str(found[0]["id"])


def page_text(page: Page, url: str, shot: Path, expect: str) -> str:
    """Open a UI page, wait for `expect` to show, save a screenshot, return the page's text."""
    page.goto(url)
    page.get_by_text(expect, exact=False).first.wait_for()
    page.screenshot(path=str(shot))
    return page.inner_text("body")


def look_at_the_ui(ui_url: str, api_url: str, incident_key: str, shots: Path) -> dict[str, str]:
    """Return the text of the deployments page, the incident board, the incident's brief and its review,
    saving screenshots."""
    shots.mkdir(parents=True, exist_ok=True)
    board = latest_artifact_id(api_url, "incident-board")
    brief = latest_artifact_id(api_url, f"brief-{incident_key.lower()}")
    review = latest_artifact_id(api_url, f"review-{incident_key.lower()}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.set_default_timeout(PATIENCE_SECONDS * 1000)  # loading and waiting for text, on a loaded machine too
        texts = {
            "deployments": page_text(page, f"{ui_url}/deployments", shots / "deployments.png", "Every 5 minutes"),
            "board": page_text(page, f"{ui_url}/artifacts/artifact/{board}", shots / "incident-board.png", "INC-"),
            "brief": page_text(page, f"{ui_url}/artifacts/artifact/{brief}", shots / "brief.png", "代表性帖子"),
            "review": page_text(page, f"{ui_url}/artifacts/artifact/{review}", shots / "review.png", "TTD"),
        }
        browser.close()
    return texts
