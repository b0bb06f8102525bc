"""The outbox against a real SMTP server (aiosmtpd on loopback): who receives what, an SMTP server that
is down and comes back, 4xx and 5xx answers, and hostile post text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from prefect.logging import disable_run_logger

from config.files import clear_caches
from tasks.db import session_scope
from tasks.notify import repository
from tasks.notify.delivery import message_id_for
from tasks.notify.sink import start_sink
from tasks.notify.tasks import DeliveryDeferred, DeliveryFailed, deliver_outbox, queue_alerts, report_undeliverable
from tests.helpers import free_port, read_mail, text_part
from tests.notify_support import PickyHandler, emails_of, incident, make_incident, matrix_emails, outbox

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: nobody is in quiet hours


@pytest.fixture(autouse=True)
def _no_run_logger() -> Iterator[None]:
    with disable_run_logger():
        yield


def _alert_and_deliver(key: str, now: datetime = NOW) -> dict[str, object]:
    queue_alerts.fn(key, now, "test")
    return deliver_outbox.fn(now)


def test_alert_reaches_the_matrix_in_chinese_with_both_parts(database: str, smtp_sink: Path) -> None:
    key = make_incident("INC-20261127-001", NOW, category="个人信息泄露", level="II")
    result = _alert_and_deliver(key)

    mail = read_mail(smtp_sink)
    assert result["sent"] == len(mail) == len(outbox(key))
    alerts = [m for m in mail if "草稿" not in m["Subject"]]
    assert {m["X-Envelope-To"] for m in alerts} == matrix_emails("II", "个人信息泄露")
    assert emails_of("王芳") <= {m["X-Envelope-To"] for m in alerts}, "a personal-data leak always reaches legal"
    for message in alerts:
        assert message["Subject"] == f"【II级·重大】澄星「个人信息泄露」舆情事件 {key}"
        assert message["To"] == message["X-Envelope-To"]
        assert message.get_content_type() == "multipart/alternative"
        plain, html = text_part(message, "plain"), text_part(message, "html")
        assert "舆情危机预警" in plain and "触发原因：负面声量阈值" in plain and "澄星空气炸锅" in plain
        assert f"crisis ack {key} --by" in plain and "确认接手并立即通知法务专员" in plain
        assert "<h2" in html and "触发原因" in html and 'href="https://weibo.example/1"' in html
        assert message["From"].addresses[0].display_name == "舆情危机响应系统"
    drafts = [m for m in mail if "草稿" in m["Subject"]]
    kinds = sorted(m["Subject"].rsplit("·", 1)[1].strip() for m in drafts)
    assert kinds == ["公开说明草稿（请审核）", "致歉声明草稿（请审核）"]
    assert {m["X-Envelope-To"] for m in drafts} == emails_of("李娜")
    assert "诚挚的歉意" in text_part(next(m for m in drafts if "致歉" in m["Subject"]), "plain")
    assert {m["Message-ID"] for m in mail} == {message_id_for(n.dedup_key) for n in outbox(key)}
    assert incident(key).alerted_at == NOW


def test_a_rerun_queues_and_sends_nothing_twice(database: str, smtp_sink: Path) -> None:
    key = make_incident("INC-20261127-001", NOW)
    _alert_and_deliver(key)
    first = len(read_mail(smtp_sink))
    assert queue_alerts.fn(key, NOW + timedelta(minutes=5), "test") == 0
    assert deliver_outbox.fn(NOW + timedelta(minutes=5)) == {"sent": 0}
    assert len(read_mail(smtp_sink)) == first
    assert incident(key).alerted_at == NOW, "the first alert time is kept"


def test_smtp_down_for_an_hour_means_late_mail_each_message_once(
    sqlite_db: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens here yet
    monkeypatch.setenv("CRISIS_EMAIL__PORT", str(port))
    clear_caches()
    key = make_incident("INC-20261127-001", NOW)
    queue_alerts.fn(key, NOW, "test")
    for minutes in (0, 5, 30):
        with pytest.raises(DeliveryDeferred, match=f"{len(outbox())} 条消息留待稍后重试.*Connection refused"):
            deliver_outbox.fn(NOW + timedelta(minutes=minutes))
    assert {n.status for n in outbox()} == {"pending"} and {n.attempts for n in outbox()} == {0}

    controller = start_sink(var_dir / "mail", "127.0.0.1", port)
    try:
        assert deliver_outbox.fn(NOW + timedelta(hours=1))["sent"] == len(outbox()) > 3
        assert deliver_outbox.fn(NOW + timedelta(hours=1, minutes=5)) == {"sent": 0}
    finally:
        controller.stop()
    mail = read_mail(var_dir / "mail")
    assert sorted(m["Message-ID"] for m in mail) == sorted(n.message_id for n in outbox())
    assert len({m["Message-ID"] for m in mail}) == len(mail), "no message twice"
    assert {n.status for n in outbox()} == {"sent"}


def test_smtp_down_for_a_day_gives_up_and_reports_once(
    sqlite_db: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRISIS_EMAIL__PORT", str(free_port()))
    clear_caches()
    key = make_incident("INC-20261127-001", NOW)
    queue_alerts.fn(key, NOW, "test")
    with pytest.raises(DeliveryDeferred):
        deliver_outbox.fn(NOW)
    queued = len(outbox())
    assert deliver_outbox.fn(NOW + timedelta(hours=25)) == {"sent": 0}, "given up, not tried again"
    assert {n.status for n in outbox()} == {"failed"}
    with pytest.raises(DeliveryFailed, match=f"{queued} 条消息最终未能送达"):
        report_undeliverable.fn(NOW + timedelta(hours=25), "test")
    notices = [n for n in outbox() if n.kind == "undeliverable"]
    assert {n.recipient for n in notices} == emails_of("赵磊", "张伟") and {n.status for n in notices} == {"pending"}
    assert report_undeliverable.fn(NOW + timedelta(hours=26), "test") is None, "each failure is reported once"


def test_4xx_is_retried_and_5xx_fails_at_once_and_is_reported_once(
    sqlite_db: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    (unknown,), (busy_rcpt,), (busy_data,) = emails_of("张伟"), emails_of("刘洋"), emails_of("陈静")
    controller = Controller(PickyHandler(var_dir / "mail", {unknown}, {busy_rcpt}, {busy_data}),
                            hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CRISIS_EMAIL__PORT", str(port))
    clear_caches()
    try:
        key = make_incident("INC-20261127-001", NOW, level="II")
        queue_alerts.fn(key, NOW, "test")
        with pytest.raises(DeliveryDeferred, match="2 条消息留待稍后重试"):
            deliver_outbox.fn(NOW)
        status = {n.recipient: n.status for n in outbox() if n.kind == "alert"}
        assert (status[unknown], status[busy_rcpt], status[busy_data]) == ("failed", "pending", "pending")
        with pytest.raises(DeliveryFailed, match=f"{unknown}（alert）：SMTPRecipientsRefused"):
            report_undeliverable.fn(NOW, "test")

        deliver_outbox.fn(NOW + timedelta(minutes=1))  # the 4xx pass; the notice to the unknown user fails too
        with pytest.raises(DeliveryFailed, match=f"{unknown}（undeliverable）"):
            report_undeliverable.fn(NOW + timedelta(minutes=1), "test")
        assert report_undeliverable.fn(NOW + timedelta(minutes=2), "test") is None
    finally:
        controller.stop()
    mail = read_mail(var_dir / "mail")
    assert unknown not in {m["X-Envelope-To"] for m in mail}
    received = [m["X-Envelope-To"] for m in mail if "草稿" not in m["Subject"] and "无法送达" not in m["Subject"]]
    assert sorted(received) == sorted(matrix_emails("II", "产品质量") - {unknown}), "each alert once"
    notice = next(m for m in mail if "无法送达" in m["Subject"])
    assert notice["X-Envelope-To"] == next(iter(emails_of("赵磊"))) and unknown in text_part(notice, "plain")
    failed = next(n for n in outbox() if n.recipient == unknown and n.kind == "alert")
    assert failed.attempts == 1 and "550" in (failed.last_error or ""), "a 5xx is never retried"


HOSTILE_TEXT = ("真垃圾<script>alert('x')</script> [点我领补偿](javascript:alert(1)) ![img](http://evil.example/p.png)"
                "\r\nBcc: victim@evil.example\r\n\r\nX-Injected: 1")


def test_hostile_post_and_brand_arrive_harmless(database: str, smtp_sink: Path) -> None:
    key = make_incident("INC-20261127-001", NOW, brand="澄星\r\nBcc: victim@evil.example",
                        posts=[(HOSTILE_TEXT, "javascript:alert(1)"), ("正常的帖子", "https://weibo.example/2")])
    _alert_and_deliver(key)

    mail = read_mail(smtp_sink)
    assert mail and all(m["X-Envelope-To"].endswith("@shop.example") for m in mail)
    for message in mail:
        assert message["Bcc"] is None and message["X-Injected"] is None
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
        assert "Bcc: victim@evil.example" in message["Subject"], "kept as harmless text"
        html, plain = text_part(message, "html"), text_part(message, "plain")
        assert "<script" not in html and "&lt;script&gt;" in html
        assert 'href="javascript:' not in html and "<img" not in html
        assert 'href="https://weibo.example/2"' in html
        post_lines = [line for line in plain.splitlines() if "真垃圾" in line]
        assert len(post_lines) == 1 and "X-Injected: 1" in post_lines[0]
        assert not any(line.startswith(("Bcc:", "X-Injected:")) for line in plain.splitlines())


def test_a_message_being_sent_is_not_claimed_again_until_its_claim_is_stale(database: str) -> None:
    """Two notify runs (two workers) deliver the same outbox: the second must not send what the first is sending."""
    key = make_incident("INC-20261127-001", NOW, level="I")
    queue_alerts.fn(key, NOW, "test")
    first = outbox(key)[0].id
    with session_scope() as session:
        assert repository.claim(session, first, NOW) is not None
    with session_scope() as session:
        assert repository.claim(session, first, NOW + timedelta(minutes=1)) is None, "a live claim was taken over"
    with session_scope() as session:
        taken_over = repository.claim(session, first, NOW + repository.STALE_CLAIM + timedelta(minutes=1))
        assert taken_over is not None and taken_over.attempts == 2, "a claim left by a dead run is retried"


def test_a_failed_message_of_no_incident_is_named_without_a_notice(sqlite_db: str) -> None:
    """A drill scorecard whose drill opened no incident belongs to no incident: its failure is still named."""
    from tasks.db import session_scope
    from tasks.models import Notification

    with session_scope() as session:
        session.add(Notification(incident_id=None, kind="drill_grade", recipient="gone@shop.example",
                                 dedup_key="drill_grade:1:gone@shop.example", subject="【演练】演练评估 #1 未立案",
                                 body_text="t", body_html="h", status="failed", attempts=1,
                                 last_error="SMTPRecipientsRefused", message_id="<m@x>", created_at=NOW))
    with pytest.raises(DeliveryFailed, match=r"gone@shop\.example（drill_grade）：SMTPRecipientsRefused"):
        report_undeliverable.fn(NOW, "test")
    assert [n.kind for n in outbox()] == ["drill_grade"], "no failure notice: it would need an incident"


def test_closing_as_a_false_alarm_tells_everyone_alerted_once_with_the_reason_inert(database: str,
                                                                                   smtp_sink: Path) -> None:
    """Those the alert asked to act hear that they need not (解除通知), each once, through the real SMTP server;
    the responder's reason is shown, never as a link or markup; a second closing is refused and sends nothing."""
    from typer.testing import CliRunner

    from cli.app import app

    key = make_incident("INC-20261127-001", NOW, category="个人信息泄露", level="II")
    _alert_and_deliver(key)
    alerted = {m["X-Envelope-To"] for m in read_mail(smtp_sink) if "草稿" not in m["Subject"]}
    reason = "促销活动正常讨论 <b>见</b> http://evil.example/x"
    closing = CliRunner().invoke(app, ["close", key, "--as", "false_alarm", "--reason", reason, "--by", "张伟",
                                       "--now", "2026-11-27T10:30"])
    assert closing.exit_code == 0, closing.output
    assert f"解除通知已加入发件箱（{len(alerted)} 人" in closing.output
    assert CliRunner().invoke(app, ["close", key, "--as", "false_alarm", "--reason", "再关", "--by", "张伟"]).exit_code == 1
    deliver_outbox.fn(NOW + timedelta(minutes=35))
    cleared = [m for m in read_mail(smtp_sink) if "【已解除】" in m["Subject"]]
    assert {m["X-Envelope-To"] for m in cleared} == alerted
    assert len(cleared) == len({m["X-Envelope-To"] for m in cleared}), "each person once"
    message = cleared[0]
    assert message["Subject"] == f"【已解除】澄星「个人信息泄露」事件 {key}：已按误报关闭"
    plain, html = text_part(message, "plain"), text_part(message, "html")
    assert f"事件 {key}（澄星「个人信息泄露」，II 级）已于 2026-11-27 10:30 由 张伟 按误报关闭" in plain
    assert "理由：促销活动正常讨论 <b>见</b> http[:]//evil.example/x" in plain
    assert "&lt;b&gt;见&lt;/b&gt; http[:]//evil.example/x" in html and "<b>" not in html and "http://evil" not in html
