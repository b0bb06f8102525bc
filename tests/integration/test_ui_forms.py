"""The Prefect UI's forms as a responder meets them, in headless Debian Chromium against a real `prefect server
start` with the deployments and a worker: the alert's link opens the incident's own acknowledge run, whose
Resume form is in Chinese and acknowledges; the compensate deployment's Custom run form is in Chinese, lists
the configured policies and will not start without the requester; runs are named after their incident.
Screenshots go to var/screenshots (look at them: they are what a responder sees)."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, sync_playwright
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from config.settings import PROJECT_DIR
from tasks.stack import Stack, ensure_prefect_server, ensure_worker
from tests.helpers import PATIENCE_SECONDS, text_part, wait_for
from tests.integration.server_support import deploy, deployments_of, flow_runs, runs_for
from tests.integration.ui import RAW_PAIR, UUID, dropdown_choices, form_field, open_browser, resume_form, run_form
from tests.notify_support import incident, mail_by_subject, make_incident

pytestmark = pytest.mark.integration
SHOTS = PROJECT_DIR / "var" / "screenshots"
KEY = "INC-20261203-001"


def _deploy(stack: Stack, folder: Path) -> None:
    """Deploy notify, acknowledge and compensate from prefect.yaml without triggers or schedules: the test
    starts what the `opened` trigger would."""
    spec = deployments_of("notify", "acknowledge", "compensate", "open-incident", "dismiss-incident")
    for deployment in spec["deployments"]:
        deployment.pop("triggers", None)
        deployment.pop("schedules", None)
    deploy(stack, folder, spec)


def _waiting_form(key: str) -> FlowRun | None:
    return next((r for r in runs_for("acknowledge", key) if r.state and r.state.is_paused()), None)


def _orders(path: Path, paid: datetime) -> Path:
    at = paid.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    path.write_text("order_id,customer_id,product,sku,amount_yuan,paid_at,status,email\n"
                    f"O1,C1,澄星空气炸锅,CX-AF-01,299.00,{at},completed,c1@example.com\n", encoding="utf-8")
    return path


def _readable(text: str) -> None:
    """What a person reads: no UUID, no raw key=value."""
    assert not UUID.search(text), text
    assert not RAW_PAIR.search(text), text


def test_the_alert_opens_a_chinese_acknowledge_form_and_the_compensate_form_asks_who(
    local_stack: Stack, smtp_sink: Path, sqlite_db: str, var_dir: Path, chromium_present: None, tmp_path: Path
) -> None:
    ensure_prefect_server(local_stack)
    _deploy(local_stack, var_dir)
    ensure_worker(local_stack)
    opened = datetime.now(UTC)
    make_incident(KEY, opened)
    with temporary_settings(updates={PREFECT_API_URL: local_stack.api_url}):
        run_deployment("acknowledge/acknowledge", parameters={"incident_key": KEY}, timeout=0)
        form = wait_for(lambda: _waiting_form(KEY), "the acknowledge run waiting for its form")
        assert form.name == f"ack-{KEY}", "the run is named after its incident"
        alerted = run_deployment("notify/notify", parameters={"incident_key": KEY}, timeout=PATIENCE_SECONDS, poll_interval=1)
        assert alerted.name == f"notify-{KEY}"

        # the alert links straight to the incident's acknowledge run, not to the runs list
        (mail, *_) = wait_for(lambda: mail_by_subject(smtp_sink, KEY), "the alert")
        run_url = f"{local_stack.ui_url}/runs/flow-run/{form.id}"
        assert run_url in text_part(mail, "plain") and f'href="{run_url}"' in text_part(mail, "html")

        with sync_playwright() as playwright:
            browser, page = open_browser(playwright)
            shown = resume_form(page, run_url, SHOTS / "acknowledge-form.png", "确认人")
            assert KEY in shown and "确认接手" in shown and "备注" in shown, shown
            _readable(shown)
            _answer(page, "李娜", "公关接手，30 分钟内出口径")
            wait_for(lambda: incident(KEY).acknowledged_by == "李娜", "the acknowledgement from the form")

            _compensate_form(page, local_stack, tmp_path / "orders.csv", opened)
            _open_incident_form(page, local_stack)
            _dismiss_incident_form(page, local_stack)
            runs = page_of_runs(page, local_stack.ui_url, [f"compensate-{KEY}", f"ack-{KEY}"])
            browser.close()
    assert f"compensate-{KEY}" in runs and f"ack-{KEY}" in runs and f"notify-{KEY}" in runs


def _answer(page: Page, who: str, note: str) -> None:
    """Fill in the Resume form as a responder does and submit it."""
    dialog = page.get_by_role("dialog")
    form_field(dialog, "确认人").locator("input, textarea").first.fill(who)
    form_field(dialog, "备注").locator("input, textarea").first.fill(note)
    dialog.get_by_role("button", name=re.compile("Submit|Resume")).last.click()


def _compensate_form(page: Page, stack: Stack, orders: Path, opened: datetime) -> None:
    """The Custom run form: Chinese labels and help, the policies of compensation.toml in a dropdown, and no
    run without the requester's name; filled in properly, it starts `compensate-<KEY>`."""
    shown = run_form(page, stack.ui_url, stack.api_url, "compensate", SHOTS / "compensate-form.png", "补偿策略")
    for label in ("事件编号", "申请人", "补偿策略", "订单文件", "订单查询", "订单格式", "只试算", "通知客户", "备注"):
        assert label in shown, label
    assert "申请人 (Optional)" not in shown and "补偿策略 (Optional)" in shown, "requested_by is required"
    assert "prefect-ui" not in shown and "20 元无门槛优惠券" in shown
    _readable(shown)
    shipped = tomllib.loads((PROJECT_DIR / "config" / "compensation.toml").read_text(encoding="utf-8"))
    assert dropdown_choices(page, "补偿策略") == list(shipped["policies"])
    assert dropdown_choices(page, "订单格式") == ["auto", "generic", "taobao", "tmall", "jd"]

    form_field(page, "事件编号").locator("textarea, input").first.fill(KEY)
    form_field(page, "订单文件").locator("textarea, input").first.fill(str(_orders(orders, opened - timedelta(days=1))))
    page.get_by_role("button", name="Submit").click()
    requester = form_field(page, "申请人")
    requester.get_by_text(re.compile("required", re.IGNORECASE)).first.wait_for()  # Prefect's own words
    requester.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "compensate-form-requester-missing.png"))
    assert runs_for("compensate", KEY) == [], "no run starts without the requester"

    form_field(page, "申请人").locator("textarea, input").first.fill("刘洋")
    page.get_by_role("button", name="Submit").click()
    (run,) = wait_for(lambda: [r for r in runs_for("compensate", KEY) if r.state and r.state.is_completed()],
                      "the compensate run from the form")
    assert run.name == f"compensate-{KEY}" and run.parameters["requested_by"] == "刘洋"


def _open_incident_form(page: Page, stack: Stack) -> None:
    """The 人工立案 form: Chinese labels, the watched brands and the categories in dropdowns; filled in, it opens
    and audits the incident under the responder's name."""
    from sqlalchemy import select

    from tasks.db import session_scope
    from tasks.models import Incident

    shown = run_form(page, stack.ui_url, stack.api_url, "open-incident", SHOTS / "open-incident-form.png", "立案理由")
    for label in ("品牌", "危机类别", "立案人", "立案理由", "级别"):
        assert label in shown, label
    _readable(shown)
    lexicon = tomllib.loads((PROJECT_DIR / "config" / "lexicon.toml").read_text(encoding="utf-8"))
    assert dropdown_choices(page, "品牌") == list(lexicon["brands"]), "competitors are not offered"
    assert dropdown_choices(page, "危机类别") == [*lexicon["categories"], "其他"]
    _choose(page, "品牌", "木棉优选")
    _choose(page, "危机类别", "物流配送")
    run = _submit(page, "open-incident", {"立案人": "王强", "立案理由": "快递大面积延误的投诉在抖音扩散"})
    assert run.name.startswith("open-木棉优选-")
    with session_scope() as session:
        (opened,) = session.scalars(select(Incident).where(Incident.brand == "木棉优选")).all()
    assert (opened.category, opened.trigger_reason) == ("物流配送", "人工立案（王强）：快递大面积延误的投诉在抖音扩散")


def _dismiss_incident_form(page: Page, stack: Stack) -> None:
    """The 按谣言/误报关闭 form: Chinese labels, the two ways as Chinese choices; filled in, it closes the incident
    the 人工立案 form opened as a false alarm, audited under the responder's name."""
    from sqlalchemy import select

    from tasks.db import session_scope
    from tasks.models import Incident

    with session_scope() as session:
        (key,) = session.scalars(select(Incident.key).where(Incident.brand == "木棉优选")).all()
    shown = run_form(page, stack.ui_url, stack.api_url, "dismiss-incident", SHOTS / "dismiss-incident-form.png", "关闭方式")
    for label in ("事件编号", "关闭方式", "关闭人", "理由"):
        assert label in shown, label
    _readable(shown)
    assert dropdown_choices(page, "关闭方式") == ["谣言（不实）", "误报"]
    _choose(page, "关闭方式", "误报")
    run = _submit(page, "dismiss-incident", {"事件编号": key, "关闭人": "王强", "理由": "物流公司核实：系单个网点的个别延误"})
    assert run.name == f"dismiss-{key}"
    closed = incident(key)
    assert (closed.state, closed.resolution, closed.resolution_note) == ("closed", "false_alarm",
                                                                        "物流公司核实：系单个网点的个别延误")


def _submit(page: Page, flow: str, texts: dict[str, str]) -> FlowRun:
    """Fill the form's text fields (label -> text), submit it and return the flow's run once it completed."""
    for label, text in texts.items():
        form_field(page, label).locator("textarea, input").first.fill(text)
    page.get_by_role("button", name="Submit").click()
    (run,) = wait_for(lambda: [r for r in flow_runs(flow) if r.state and r.state.is_completed()],
                      f"the {flow} run from the form")
    return run


def _choose(page: Page, label: str, choice: str) -> None:
    """Pick `choice` in the dropdown labelled `label`, opened as dropdown_choices opens it."""
    form_field(page, label).locator(".p-select-button__control").press("ArrowDown")
    option = page.get_by_role("option").filter(has_text=re.compile(rf"^\s*{re.escape(choice)}\s*$")).first
    option.wait_for()
    option.click()


def page_of_runs(page: Page, ui_url: str, names: list[str]) -> str:
    """Open the runs page, wait for each run name, save a screenshot and return its text."""
    page.goto(f"{ui_url}/runs")
    for name in names:
        page.get_by_text(name).first.wait_for()
    page.screenshot(path=str(SHOTS / "runs.png"), full_page=True)
    return page.inner_text("body")


def test_the_screen_checks_can_fail() -> None:
    """The patterns the screens are checked with find a run id and a raw pair (a check that cannot fail proves
    nothing)."""
    assert UUID.search(f"/runs/flow-run/{'0' * 8}-0000-0000-0000-{'0' * 12}")
    assert RAW_PAIR.search("level=IV；state=open") and not RAW_PAIR.search("II 级 · 处理中")
