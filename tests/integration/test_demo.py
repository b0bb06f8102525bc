"""The demo's lifecycle against a real Prefect server, a process worker and a real SMTP server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from config.files import load_roster
from config.settings import PROJECT_DIR
from tasks.demo import run_demo
from tasks.stack import Stack
from tests.helpers import PATIENCE_SECONDS, read_mail, text_part
from tests.integration.ui import CHROMIUM, FLAGS, look_at_the_ui, page_text

pytestmark = pytest.mark.integration


def test_demo_runs_the_lifecycle_through_deployments_and_triggers(
    local_stack: Stack, smtp_sink: Path, sqlite_db: str, chromium_present: None
) -> None:
    result = run_demo(local_stack, seed=11, say=lambda line: None)

    # the event triggers did the work, the incident recovered and resolved (the review trigger waits for it)
    assert not [n for n in result.notes if "未触发" in n or "未全部通过" in n], result.notes
    assert result.level == "II", "README: the demo's crisis opens at II, so PR gets the drafts"
    everything = read_mail(smtp_sink)
    mail = [m for m in everything if m["Subject"].endswith(f"舆情事件 {result.incident_key}")]  # the alerts
    assert len(mail) > 0 and result.mails_delivered >= len(mail)
    reviews = [m for m in everything if "复盘报告" in m["Subject"] and result.incident_key in m["Subject"]]
    assert {m["X-Envelope-To"] for m in mail} <= {m["X-Envelope-To"] for m in reviews}
    roster = load_roster()
    wanted_roles = set(getattr(roster.notify, result.level)) | set(roster.notify.by_category.get("产品质量", []))
    expected = {p.email for p in roster.people if wanted_roles & set(p.roles)}
    assert {m["X-Envelope-To"] for m in mail} == expected
    pr = {p.email for p in roster.people if "pr" in p.roles}
    drafts = [m for m in everything if "草稿" in m["Subject"] and result.incident_key in m["Subject"]]
    assert len(drafts) == 2 and {m["X-Envelope-To"] for m in drafts} == pr == set(result.drafts_to)
    assert Path(result.mail_dir) == smtp_sink  # the folder the demo's summary points to holds the mail
    for message in mail:
        assert message["Subject"].startswith(f"【{result.level}级")
        assert "澄星" in message["Subject"] and "产品质量" in message["Subject"]
        body = text_part(message, "plain")
        assert "舆情危机预警" in body and "触发原因" in body and "澄星空气炸锅" in body
        assert "<h2" in text_part(message, "html")
    assert result.orders_compensated > 100 and result.amount_fen == 2000 * result.orders_compensated
    review = Path(result.review_path).read_text(encoding="utf-8")
    assert result.incident_key in review and "TTR" in review and "补偿批次完成" in review
    reputation = Path(result.reputation_path).read_text(encoding="utf-8")  # the weekly 声誉报告, with the rival
    assert "声誉报告" in reputation and "澄星" in reputation and "焰峰" in reputation
    assert [n for n in result.notes if "焰峰" in n], result.notes  # the rival's fire scare: one 同类风险预警

    ui = look_at_the_ui(local_stack.ui_url, local_stack.api_url, result.incident_key,
                        PROJECT_DIR / "var" / "screenshots")
    # the deployments page shows its first page of names (the list pages at 10); the API has every one
    deployed = {d["name"] for d in httpx.post(f"{local_stack.api_url}/deployments/filter", json={"limit": 200},
                                              timeout=PATIENCE_SECONDS).json()}
    assert {"scan", "notify", "compensate", "after-action", "review", "drill", "drill-grade", "backfill", "lessons",
            "reputation", "reputation-weekly"} <= deployed
    assert all(d in ui["deployments"] for d in ("notify", "compensate", "after-action", "backfill"))
    assert all(f"Every {n} minutes" in ui["deployments"] for n in (5, 10, 30))
    assert result.incident_key in ui["board"] and "澄星" in ui["board"] and "产品质量" in ui["board"]
    assert f"事件复盘 {result.incident_key}" in ui["review"] and "TTD" in ui["review"] and "做得好的" in ui["review"]
    assert result.incident_key in ui["brief"] and "处置步骤" in ui["brief"] and "负面声量" in ui["brief"]


    # the pages the demo's summary prints open what they name
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.set_default_timeout(PATIENCE_SECONDS * 1000)
        shots = PROJECT_DIR / "var" / "screenshots"
        key = result.incident_key.lower()
        for (name, url), expect in zip(result.pages.items(), ("incident-board", "watch-board", f"brief-{key}", f"review-{key}"),
                                       strict=True):  # each lists its artifact's versions, the newest first
            assert "Created" in page_text(page, url, shots / f"demo-link-{expect}.png", expect), name
        browser.close()
