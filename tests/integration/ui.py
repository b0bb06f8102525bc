"""Look at the Prefect UI as an operator would: headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Locator, Page, Playwright, sync_playwright

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


def artifact_view(page: Page, url: str, shot: Path, expect: str) -> dict[str, object]:
    """Open an artifact's page, wait for `expect` in it and for its images, save a screenshot; return what
    the artifact itself shows (its description and data, not the UI's frame around it, which names the
    artifact by its id): its text, the natural width of each image (0: broken), and what in it scrolls
    sideways (tag, start of its text, widths). Saves the page as `shot` and, in a viewport as tall as
    the artifact, all of it as `<shot>-whole.png`."""
    page.goto(url)
    view = page.locator(".artifact-data-view")
    view.get_by_text(expect, exact=False).first.wait_for()
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    page.screenshot(path=str(shot))
    size = page.viewport_size or {"width": 1500, "height": 950}
    tall = int(view.evaluate("v => v.getBoundingClientRect().top + v.scrollHeight")) + 100
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(tall, 12000))})
    page.screenshot(path=str(shot.with_name(f"{shot.stem}-whole{shot.suffix}")))
    page.set_viewport_size(size)
    text = "\n".join(page.locator(".artifact-description, .artifact-data-view").all_inner_texts())
    return {"text": text,
            "images": view.evaluate("v => Array.from(v.querySelectorAll('img')).map(i => i.naturalWidth)"),
            "scrolls": view.evaluate(
                "v => [v, ...v.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1"
                " && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))"
                ".map(e => `${e.tagName} ${e.innerText.slice(0, 40)} ${e.scrollWidth}>${e.clientWidth}`)")}


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


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
RAW_PAIR = re.compile(r"\b[A-Za-z_]+=\S")  # level=IV, incident_key=INC-…: what a person should never have to read


def open_browser(playwright: Playwright) -> tuple[Browser, Page]:
    """Return Debian's Chromium, headless, and a page the size of a laptop screen."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(PATIENCE_SECONDS * 1000)  # loading and waiting for text, on a loaded machine too
    return browser, page


def deployment_id(api_url: str, name: str) -> str:
    """Return the id of the deployment with this name."""
    found = httpx.post(f"{api_url}/deployments/filter", timeout=PATIENCE_SECONDS,
                       json={"deployments": {"name": {"any_": [name]}}, "limit": 1}).json()
    assert found, f"no deployment {name!r}"
    return str(found[0]["id"])


def run_form(page: Page, ui_url: str, api_url: str, deployment: str, shot: Path, expect: str) -> str:
    """Open a deployment's Run → Custom run form, wait for `expect`, save a full-page screenshot, and return
    the form's visible text."""
    page.goto(f"{ui_url}/deployments/deployment/{deployment_id(api_url, deployment)}/run")
    page.get_by_text(expect, exact=False).first.wait_for()
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    return page.locator("form").first.inner_text()


def form_field(scope: Page | Locator, label: str) -> Locator:
    """Return the form field (of the page, or of a dialog) whose label starts with `label`."""
    page = scope if isinstance(scope, Page) else scope.page
    return scope.locator(".schema-form-property").filter(
        has=page.locator(".schema-form-property__label", has_text=re.compile(rf"^{re.escape(label)}"))).first


def dropdown_choices(page: Page, label: str) -> list[str]:
    """Open the dropdown of the field labelled `label` and return what it offers, then close it."""
    form_field(page, label).locator(".p-select-button__control").press("ArrowDown")
    options = page.get_by_role("option")
    options.first.wait_for()
    choices = [text.strip() for text in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return choices


def resume_form(page: Page, run_url: str, shot: Path, expect: str) -> str:
    """Open a paused run's page (as a link in an alert does), click Resume, wait for `expect` in the form,
    save a screenshot, and return the form's visible text."""
    page.goto(run_url)
    page.get_by_role("button", name="Resume").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(expect, exact=False).first.wait_for()
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    return dialog.inner_text()
