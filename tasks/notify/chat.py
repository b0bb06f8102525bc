"""Group-robot and SMS alerts (企业微信, 钉钉, 飞书, 短信): what they say, each platform's request body and
signature, and what its answer means. Pure: tasks/notify/robots.py does the HTTP.

Untrusted text (posts, authors) is escaped here with escape_markdown (or made inert in plain text): a post
can never become a link, a heading or an @-mention.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tasks.incidents.state import Level
from tasks.notify.templates import escape_markdown, inert, markdown_link, one_line

CHAT_KINDS = ("wecom", "dingtalk", "feishu", "sms")
CHANNEL_NAMES = {"wecom": "企业微信群", "dingtalk": "钉钉群", "feishu": "飞书群", "sms": "短信"}
MENTION_LEVELS = (Level.I, Level.II)  # the on-duty people are @-mentioned at these levels only
FEISHU_COLOURS = {Level.I: "red", Level.II: "orange", Level.III: "yellow", Level.IV: "blue"}
POSTS_SHOWN = 3
# Each platform's answer codes that mean "too many messages, later" (retried) rather than "never".
RATE_LIMITED: dict[str, frozenset[str]] = {
    "wecom": frozenset({"45009"}), "dingtalk": frozenset({"130101", "660026"}),
    "feishu": frozenset({"9499", "11232"}), "sms": frozenset({"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User"}),
}
# What the codes that need the operator mean, so the failure notice says what to fix.
HINTS = {
    "93000": "webhook key 无效或机器人已被移出群", "40001": "webhook key 无效",
    "310000": "签名不匹配（检查钉钉机器人的加签 secret）或 IP / 关键词不符", "300001": "access_token 无效",
    "19021": "签名校验失败（检查飞书机器人的签名校验 secret）", "19001": "飞书 webhook 地址无效",
    "SignatureDoesNotMatch": "短信网关签名不匹配（检查 AccessKey Secret）",
    "InvalidAccessKeyId.NotFound": "短信网关 AccessKey ID 无效",
}


@dataclass(frozen=True)
class OnDuty:
    """An on-duty person to @: by their user id on the channel's platform, else by mobile."""

    name: str
    mobile: str | None = None
    user_id: str | None = None


def chat_recipient(kind: str, channel: str, mobile: str | None = None) -> str:
    """Return the outbox recipient of a channel: `wecom:pr_group`, or `sms:<channel>:<mobile>` for one phone."""
    return f"{kind}:{channel}" + (f":{mobile}" if mobile else "")


def parse_recipient(recipient: str) -> tuple[str, str, str | None] | None:
    """Return (kind, channel, mobile) of a chat recipient, or None for a mailbox."""
    kind, _, rest = recipient.partition(":")
    if kind not in CHAT_KINDS or not rest or "@" in recipient:
        return None
    channel, _, mobile = rest.partition(":")
    return kind, channel, mobile or None


def recipient_label(recipient: str) -> str:
    """Return an outbox recipient as people read it: a mailbox as it is, `wecom:pr_group` as 企业微信群 pr_group,
    `sms:<channel>:<mobile>` as 短信 <mobile>."""
    parsed = parse_recipient(recipient)
    if parsed is None:
        return recipient
    kind, channel, mobile = parsed
    return f"{CHANNEL_NAMES[kind]} {mobile or channel}"


def _mention_text(kind: str, person: OnDuty) -> str:
    if kind == "wecom" and person.user_id:
        return f"<@{person.user_id}>"
    if kind == "feishu" and person.user_id:
        return f"<at id={person.user_id}></at>"
    if kind == "dingtalk" and (person.user_id or person.mobile):
        return f"@{person.user_id or person.mobile}"
    return escape_markdown(person.name)


def alert_title(context: dict[str, Any]) -> str:
    """Return the alert's one-line title: level (and the level it rose from), brand, category."""
    drill = "【演练】" if context.get("drill") else ""
    raised = context.get("raised")
    rise = f"【升级 {raised['from_level']}→{raised['to_level']}】" if raised else ""
    return one_line(f"{drill}{rise}【{context['level']}级·{context['level_name']}】{context['brand']}"
                    f"「{context['category']}」舆情预警", 120)


def raise_lines(context: dict[str, Any], escape: Callable[[str], str]) -> list[str]:
    """Return what an alert after a rise of the level adds: 由 II 级升为 I 级, by whom or which rule, why
    (each escaped with `escape`); [] for a first alert."""
    raised = context.get("raised")
    if not raised:
        return []
    return [f"由 {raised['from_level']} 级升为 {raised['to_level']} 级（{raised['to_name']}）",
            f"升级方：{escape(raised['by'])}；原因：{escape(one_line(raised['why'], 120))}"]


def _reason_block(context: dict[str, Any], escape: Callable[[str], str], label: str, bullet: str) -> list[str]:
    """Return the trigger reason as the brief words it (the mail's `reasons`): on the label's line when it is
    one sentence, else one line per rule under the label (each escaped with `escape`)."""
    reasons = [escape(one_line(line, 200)) for line in context["reasons"]]
    if len(reasons) <= 1:
        return [label + "".join(reasons)]
    return [label + "\n" + "\n".join(bullet + line for line in reasons)]


def alert_markdown(kind: str, context: dict[str, Any], links: dict[str, str], mentions: Sequence[OnDuty]) -> str:
    """Return the alert as markdown: level, reason, top posts, the brief's and the acknowledge link, @s."""
    lines = [f"### {escape_markdown(alert_title(context))}",
             f"**事件**：{escape_markdown(context['key'])}　**热度**：{context['heat']} / 100",
             *_reason_block(context, escape_markdown, "**原因**：", "- ")]
    lines += [f"**{line}**" if n == 0 else line for n, line in enumerate(raise_lines(context, escape_markdown))]
    if context.get("rumour"):
        lines.append(f"**疑似谣言**：{escape_markdown(context['rumour'])}")
    posts = context["posts"][:POSTS_SHOWN]
    if posts:
        lines.append("**代表性帖子**：")
        lines += [f"> {escape_markdown(p['platform'])}｜{escape_markdown(p['author'])}（触达 {p['reach']}）："
                  f"{escape_markdown(one_line(p['text'], 120))}" for p in posts]
    actions = [link for label, key in (("查看事件简报", "brief"), ("确认接手", "ack"))
               if (link := markdown_link(label, links.get(key)))]
    if actions:
        lines.append("　".join(actions))
    if mentions:
        lines.append("请 " + " ".join(_mention_text(kind, m) for m in mentions) + " 立即确认接手")
    return "\n\n".join(lines)


def alert_text(context: dict[str, Any], links: dict[str, str], mentions: Sequence[OnDuty]) -> str:
    """Return the alert as plain text (WeCom text messages, which alone can @ by mobile); posts inert."""
    lines = [inert(alert_title(context)), f"事件：{inert(context['key'])}　热度：{context['heat']} / 100",
             *_reason_block(context, inert, "原因：", "· "), *raise_lines(context, inert)]
    lines += [f"· {inert(p['platform'])}｜{inert(p['author'])}：{inert(one_line(p['text'], 120))}"
              for p in context["posts"][:POSTS_SHOWN]]
    lines += [f"{label}：{links[key]}" for label, key in (("事件简报", "brief"), ("确认接手", "ack")) if links.get(key)]
    if mentions:
        lines.append("请 " + " ".join(inert(m.name) for m in mentions) + " 立即确认接手")
    return "\n".join(lines)


def robot_body(kind: str, context: dict[str, Any], links: dict[str, str], mentions: Sequence[OnDuty]) -> dict[str, Any]:
    """Return the JSON body a group robot of `kind` is sent (without the signature, added when sending)."""
    title, markdown = alert_title(context), alert_markdown(kind, context, links, mentions)
    if kind == "wecom":
        by_mobile = [m.mobile for m in mentions if not m.user_id and m.mobile]
        if by_mobile:  # WeCom markdown can @ only by userid; a text message can @ by mobile
            return {"msgtype": "text", "text": {"content": alert_text(context, links, mentions),
                                                "mentioned_mobile_list": by_mobile}}
        return {"msgtype": "markdown", "markdown": {"content": markdown}}
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": markdown},
                "at": {"atMobiles": [m.mobile for m in mentions if m.mobile and not m.user_id],
                       "atUserIds": [m.user_id for m in mentions if m.user_id], "isAtAll": False}}
    if kind == "feishu":
        colour = FEISHU_COLOURS[Level(context["level"])]
        return {"msg_type": "interactive", "card": {
            "header": {"title": {"tag": "plain_text", "content": title}, "template": colour},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": markdown}}]}}
    raise ValueError(f"no robot of kind {kind!r}")


def sms_body(mobile: str, sign_name: str, template: str, context: dict[str, Any]) -> dict[str, Any]:
    """Return the SMS gateway's request body (the common cloud-SMS shape: numbers, signature, template, params)."""
    params = {"key": str(context["key"]), "level": f"{context['level']}级", "brand": one_line(context["brand"], 20),
              "category": one_line(context["category"], 20)}
    return sms_request(mobile, sign_name, template, params)


def sms_request(mobile: str, sign_name: str, template: str, params: dict[str, str]) -> dict[str, Any]:
    """Return the SMS gateway's request body for one number: signature, template and its parameters."""
    return {"PhoneNumbers": mobile, "SignName": sign_name, "TemplateCode": template,
            "TemplateParam": json.dumps(params, ensure_ascii=False)}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """Return DingTalk's `sign`: base64 of HMAC-SHA256 keyed by the secret over "timestamp\\nsecret" (the
    query string encodes it)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Return Feishu's `sign`: base64 of HMAC-SHA256 keyed by "timestamp\\nsecret" over an empty message."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sms_sign(secret: str, timestamp_s: int, nonce: str, body: bytes) -> str:
    """Return the SMS gateway's signature: base64 of HMAC-SHA256 keyed by the AccessKey secret over
    "timestamp\\nnonce\\nbody"."""
    digest = hmac.new(secret.encode(), f"{timestamp_s}\n{nonce}\n".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Verdict(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # 5xx, 429 or the platform's rate limit: try again later
    REFUSED = "refused"  # wrong signature, bad key, bad number…: never goes through, reported once


def judge(kind: str, status: int, body: bytes) -> tuple[Verdict, str]:
    """Tell what a platform's answer means, and say why in one line (no secret is ever in it)."""
    if status == 429 or status >= 500:
        return Verdict.RETRY, f"HTTP {status}"
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return Verdict.REFUSED, f"HTTP {status}，答复不是 JSON"
    if not isinstance(answer, dict):
        return Verdict.REFUSED, f"HTTP {status}，答复无法识别"
    if kind == "sms":
        code, message = str(answer.get("Code", "")), str(answer.get("Message", ""))
        ok = code == "OK"
    else:
        raw = answer.get("errcode", answer.get("code", answer.get("StatusCode", -1)))
        code, message = str(raw), str(answer.get("errmsg", answer.get("msg", answer.get("StatusMessage", ""))))
        ok = code == "0"
    if ok and status < 300:
        return Verdict.SENT, ""
    why = f"HTTP {status}，错误码 {code}：{one_line(message, 200)}" + (f"（{HINTS[code]}）" if code in HINTS else "")
    return (Verdict.RETRY if code in RATE_LIMITED.get(kind, ()) else Verdict.REFUSED), why
