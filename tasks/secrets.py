"""Read secrets at run time: from the settings' environment value or a Prefect Secret block."""

from __future__ import annotations

from config.settings import AuditSettings, EmailSettings, read_environment


def email_password(settings: EmailSettings) -> str | None:
    """Return the SMTP password (CRISIS_EMAIL__PASSWORD, else the named Secret block, else None)."""
    if settings.password is not None:
        return settings.password.get_secret_value()
    if settings.password_block:
        from prefect.blocks.system import Secret

        return str(Secret.load(settings.password_block).get())
    return None


def audit_key(settings: AuditSettings) -> bytes | None:
    """Return the audit log's HMAC key (CRISIS_AUDIT__KEY, else the named Secret block, else None)."""
    if settings.key is not None:
        return settings.key.get_secret_value().encode("utf-8")
    if settings.key_block:
        from prefect.blocks.system import Secret

        return str(Secret.load(settings.key_block).get()).encode("utf-8")
    return None


def named_secret(env: str | None, block: str | None) -> str | None:
    """Return a secret the config names by place: the environment variable `env`, else the Secret block `block`
    (a channel's webhook key or signing secret); None when the variable is unset or empty."""
    if env:
        return read_environment(env) or None
    if block:
        from prefect.blocks.system import Secret

        return str(Secret.load(block).get())
    return None
