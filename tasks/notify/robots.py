"""Send outbox messages to group robots (企业微信, 钉钉, 飞书) and the SMS gateway over HTTP (httpx).

The outbox row's recipient names the channel (`wecom:pr_group`, `sms:commander_sms:13800000000`), its body_html
holds the JSON body composed when it was queued; the webhook key and signing secret are read here, at send
time (tasks/secrets.py), and never stored, logged or put in an error: httpx's request log has them masked.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from config.files import SIGNED_KINDS, Channel
from tasks.notify.chat import Verdict, dingtalk_sign, feishu_sign, judge, parse_recipient, sms_sign
from tasks.notify.delivery import ChannelRefused, ChannelUnavailable, DeliveryUncertain
from tasks.secrets import named_secret


class _Redactor(logging.Filter):
    """Mask the secrets in use wherever the HTTP libraries log a request (httpx logs every URL)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def hide(self, *secrets: str | None) -> None:
        self.secrets |= {form for s in secrets if s for form in (s, quote(s, safe=""), quote(s))}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in sorted(self.secrets, key=len, reverse=True):
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


_REDACTOR = _Redactor()


class ChatSender:
    """One HTTP client for a batch of group-robot and SMS messages."""

    def __init__(self, channels: Mapping[str, Channel], clock: Callable[[], float] = time.time):
        self.channels, self.clock = channels, clock
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(_REDACTOR)
        self.client = httpx.Client(follow_redirects=False)

    def send(self, recipient: str, subject: str, text: str, body: str, message_id: str,
             from_name: str | None = None) -> None:
        """Post one message (its JSON body, queued in the outbox's body_html; `from_name` plays no part: an SMS
        is signed by its channel). Raise ChannelUnavailable (try later), ChannelRefused (never: wrong key or
        signature, a secret not set) or DeliveryUncertain (no answer in time: the platform may have posted it)."""
        parsed = parse_recipient(recipient)
        channel = self.channels.get(parsed[1]) if parsed else None
        if parsed is None or channel is None or channel.kind != parsed[0]:
            raise ChannelRefused(f"{recipient}：roster.toml 的 [channels] 中没有这个渠道")
        kind, name, _ = parsed
        signed = kind in SIGNED_KINDS
        key = named_secret(channel.key_env, channel.key_block)
        secret = named_secret(channel.secret_env, channel.secret_block) if signed else None
        if not key or (signed and not secret):
            where = (channel.key_env or channel.key_block) if not key else (channel.secret_env or channel.secret_block)
            raise ChannelRefused(f"渠道 {name}：密钥 {where} 未设置（环境变量或 Prefect Secret 块）")
        _REDACTOR.hide(key, secret)
        request = self._request(kind, channel, str(key), secret, json.loads(body))
        try:
            response = self.client.send(request)
        except httpx.ReadTimeout as exc:
            raise DeliveryUncertain(f"渠道 {name} 在 {channel.timeout_seconds:g} 秒内没有答复，消息可能已送达") from exc
        except httpx.TransportError as exc:
            raise ChannelUnavailable(f"渠道 {name} 无法连接（{type(exc).__name__}）") from None
        verdict, why = judge(kind, response.status_code, response.content)
        if verdict is Verdict.RETRY:
            raise ChannelUnavailable(f"渠道 {name}：{why}")
        if verdict is Verdict.REFUSED:
            raise ChannelRefused(f"渠道 {name}：{why}")

    def _request(self, kind: str, channel: Channel, key: str, secret: str | None,
                 body: dict[str, Any]) -> httpx.Request:
        timeout = httpx.Timeout(channel.timeout_seconds)
        now = self.clock()
        params: dict[str, str] = {}
        url = channel.url
        if kind == "wecom":
            params = {"key": key}
        elif kind == "dingtalk":
            stamp = int(now * 1000)
            params = {"access_token": key, "timestamp": str(stamp), "sign": dingtalk_sign(str(secret), stamp)}
        elif kind == "feishu":
            url = f"{channel.url.rstrip('/')}/{quote(key, safe='')}"
            body = {**body, "timestamp": str(int(now)), "sign": feishu_sign(str(secret), int(now))}
        else:
            content = json.dumps(body, ensure_ascii=False).encode()
            nonce = uuid.uuid4().hex
            headers = {"Content-Type": "application/json; charset=utf-8", "X-Access-Key-Id": key,
                       "X-Timestamp": str(int(now)), "X-Nonce": nonce,
                       "X-Signature": sms_sign(str(secret), int(now), nonce, content)}
            return self.client.build_request("POST", url, content=content, headers=headers, timeout=timeout)
        return self.client.build_request("POST", url, params=params, json=body, timeout=timeout)

    def reset(self) -> None:
        """Nothing to reset: each message is its own request."""

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()
