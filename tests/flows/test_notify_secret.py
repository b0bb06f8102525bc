"""The SMTP password comes from the environment or a Prefect Secret block, and a wrong one fails at once
(a real SMTP server with AUTH on loopback)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from prefect.blocks.system import Secret
from prefect.logging import disable_run_logger

from config.files import clear_caches
from config.settings import get_settings
from tasks.notify.senders import SmtpSender
from tasks.notify.sink import MaildirHandler
from tasks.notify.tasks import SmtpMisconfigured, deliver_outbox, queue_alerts
from tests.helpers import free_port, read_mail
from tests.notify_support import make_incident, outbox

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
PASSWORD = "s3cret-pass"


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def auth_smtp(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An SMTP server that refuses mail until the client logs in with PASSWORD."""
    port = free_port()
    controller = Controller(MaildirHandler(var_dir / "mail"), hostname="127.0.0.1", port=port,
                            authenticator=_authenticator, auth_required=True, auth_require_tls=False)
    controller.start()
    monkeypatch.setenv("CRISIS_EMAIL__PORT", str(port))
    monkeypatch.delenv("CRISIS_EMAIL__PASSWORD", raising=False)
    clear_caches()
    with disable_run_logger():
        yield var_dir / "mail"
    controller.stop()


def test_the_password_from_a_secret_block_logs_in(sqlite_db: str, auth_smtp: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    Secret(value=PASSWORD).save("crisis-smtp-password", overwrite=True)
    monkeypatch.setenv("CRISIS_EMAIL__PASSWORD_BLOCK", "crisis-smtp-password")
    clear_caches()
    queue_alerts.fn(make_incident("INC-20261127-001", NOW), NOW, "test")
    assert deliver_outbox.fn(NOW)["sent"] == len(read_mail(auth_smtp)) > 0


def test_the_password_from_the_environment_logs_in_and_a_wrong_one_loses_nothing(
    sqlite_db: str, auth_smtp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_incident("INC-20261127-001", NOW)
    queue_alerts.fn(key, NOW, "test")
    monkeypatch.setenv("CRISIS_EMAIL__PASSWORD", "wrong")
    clear_caches()
    with pytest.raises(SmtpMisconfigured, match="SMTPAuthenticationError.*check \\[email\\]"):
        deliver_outbox.fn(NOW)
    assert {n.status for n in outbox(key)} == {"pending"} and not read_mail(auth_smtp)

    monkeypatch.setenv("CRISIS_EMAIL__PASSWORD", PASSWORD)
    clear_caches()
    assert deliver_outbox.fn(NOW)["sent"] == len(outbox(key)) == len(read_mail(auth_smtp))


def test_a_refused_login_leaves_no_connection_for_the_garbage_collector_to_close(
    auth_smtp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRISIS_EMAIL__PASSWORD", "wrong")
    clear_caches()
    sender = SmtpSender(get_settings().email)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        sender.connect()
    sender.close()
    # closed now, in this thread: yagmail's __del__ would otherwise say QUIT whenever and wherever GC runs
    assert sender.client.is_closed and sender.client.smtp.sock is None
