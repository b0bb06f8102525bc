"""Group-robot and SMS alerts, pure parts: signatures as each platform documents them, what each answer
code means, how the on-duty person is @-mentioned; the roster's [channels] as an operator writes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import urllib.parse
from pathlib import Path

import pytest

from config.check import check_config
from config.files import load_roster
from config.settings import SettingsError
from tasks.notify.chat import OnDuty, Verdict, dingtalk_sign, feishu_sign, judge, parse_recipient, robot_body

CONTEXT = {"key": "INC-20261127-001", "brand": "澄星", "category": "产品质量", "level": "II", "level_name": "重大",
           "heat": 66.0, "reason": "负面声量阈值：最近 60 分钟负面提及 12 条；热度 66",
           "reasons": ["负面声量阈值：最近 60 分钟负面提及 12 条；热度 66"], "rumour": "", "drill": False,
           "posts": [{"platform": "微博", "author": "用户0", "reach": "1,000", "text": "坏了 <@all>"}]}
LINKS = {"brief": "http://ui.example/artifacts/key/brief-inc-20261127-001", "ack": "http://ui.example/runs"}


def test_dingtalk_signature_is_the_one_its_documentation_computes() -> None:
    stamp, secret = 1764208800000, "SECabc123"
    documented = base64.b64encode(hmac.new(secret.encode("utf-8"), f"{stamp}\n{secret}".encode(),
                                           digestmod=hashlib.sha256).digest())
    assert urllib.parse.quote_plus(dingtalk_sign(secret, stamp)) == urllib.parse.quote_plus(documented)


def test_feishu_signature_is_the_one_its_documentation_computes() -> None:
    stamp, secret = 1764208800, "demo-secret"
    documented = base64.b64encode(hmac.new(f"{stamp}\n{secret}".encode(), digestmod=hashlib.sha256).digest())
    assert feishu_sign(secret, stamp) == documented.decode("utf-8")


@pytest.mark.parametrize(("kind", "status", "body", "verdict"), [
    ("wecom", 200, b'{"errcode":0,"errmsg":"ok"}', Verdict.SENT),
    ("wecom", 200, b'{"errcode":45009,"errmsg":"api freq out of limit"}', Verdict.RETRY),
    ("wecom", 200, b'{"errcode":93000,"errmsg":"invalid webhook url"}', Verdict.REFUSED),
    ("dingtalk", 200, b'{"errcode":130101,"errmsg":"send too fast"}', Verdict.RETRY),
    ("dingtalk", 200, b'{"errcode":660026,"errmsg":"limit"}', Verdict.RETRY),
    ("dingtalk", 200, b'{"errcode":310000,"errmsg":"sign not match"}', Verdict.REFUSED),
    ("feishu", 200, b'{"code":0,"msg":"success"}', Verdict.SENT),
    ("feishu", 200, b'{"code":11232,"msg":"frequency limited"}', Verdict.RETRY),
    ("feishu", 200, b'{"code":19021,"msg":"sign match fail"}', Verdict.REFUSED),
    ("feishu", 429, b"", Verdict.RETRY),
    ("sms", 200, b'{"Code":"OK","Message":"OK"}', Verdict.SENT),
    ("sms", 200, b'{"Code":"isv.BUSINESS_LIMIT_CONTROL"}', Verdict.RETRY),
    ("sms", 200, b'{"Code":"isv.MOBILE_NUMBER_ILLEGAL"}', Verdict.REFUSED),
    ("dingtalk", 503, b"<html>bad gateway</html>", Verdict.RETRY),
    ("wecom", 404, b"<html>not found</html>", Verdict.REFUSED),
])
def test_each_platforms_answer_is_sent_retried_or_refused(kind: str, status: int, body: bytes, verdict: Verdict) -> None:
    assert judge(kind, status, body)[0] is verdict


def test_wecom_mentions_by_userid_in_markdown_and_by_mobile_only_in_a_text_message() -> None:
    by_id = robot_body("wecom", CONTEXT, LINKS, [OnDuty("张伟", "13800000001", "zhangwei")])
    assert by_id["msgtype"] == "markdown" and "<@zhangwei>" in by_id["markdown"]["content"]
    assert "**原因**：负面声量阈值：最近 60 分钟负面提及 12 条；热度 66\n" in by_id["markdown"]["content"]
    by_mobile = robot_body("wecom", CONTEXT, LINKS, [OnDuty("李娜", "13800000002")])
    assert by_mobile["msgtype"] == "text" and by_mobile["text"]["mentioned_mobile_list"] == ["13800000002"]
    assert "确认接手：http://ui.example/runs" in by_mobile["text"]["content"]
    assert parse_recipient("sms:commander_sms:13800000001") == ("sms", "commander_sms", "13800000001")
    assert parse_recipient("wecom.ops@shop.example") is None




def _uncomment_channels(roster: Path) -> str:
    text = roster.read_text(encoding="utf-8")
    example = text[text.index("# [channels.pr_group]"):]
    return text[: text.index("# [channels.pr_group]")] + re.sub(r"(?m)^# ?", "", example)


def test_the_rosters_channel_example_loads_and_config_check_names_unset_secrets_and_missing_mobiles(config_copy: Path) -> None:
    roster = config_copy / "roster.toml"
    roster.write_text(_uncomment_channels(roster), encoding="utf-8")
    channels = load_roster().channels
    assert {n: c.kind for n, c in channels.items()} == {"pr_group": "wecom", "legal_group": "dingtalk",
                                                         "cs_group": "feishu", "commander_sms": "sms"}
    problems = {p.field: p.message for p in check_config()}
    assert problems["channels.legal_group.secret_env"] == "环境变量 DINGTALK_LEGAL_SECRET 未设置：这个渠道的消息将无法发送"
    assert {f for f in problems if f.startswith("channels.")} == {
        "channels.pr_group.key_env", "channels.legal_group.key_env", "channels.legal_group.secret_env",
        "channels.cs_group.key_env", "channels.cs_group.secret_env", "channels.commander_sms.key_env",
        "channels.commander_sms.secret_env", "channels.commander_sms.roles"}
    assert problems["channels.commander_sms.roles"] == "张伟 没有手机号（people.*.mobile），收不到短信"


def test_a_secret_written_into_the_roster_or_a_missing_signing_secret_is_named(config_copy: Path) -> None:
    roster = config_copy / "roster.toml"
    text = _uncomment_channels(roster)
    roster.write_text(text.replace('secret_env = "DINGTALK_LEGAL_SECRET"', 'secret = "SEC0123456789"'),
                      encoding="utf-8")
    with pytest.raises(SettingsError) as refused:
        load_roster()
    assert "channels.legal_group.secret: Extra inputs are not permitted" in str(refused.value)
    assert "SEC0123456789" not in str(refused.value)

    roster.write_text(text.replace('secret_env = "DINGTALK_LEGAL_SECRET"', ""), encoding="utf-8")
    with pytest.raises(SettingsError, match="channels.legal_group: Value error, dingtalk 渠道需要 secret_env"):
        load_roster()
