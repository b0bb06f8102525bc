"""Read secrets at run time: from the settings' environment value or a Prefect Secret block."""

from __future__ import annotations

from config.settings import EmailSettings


def email_password(settings: EmailSettings) -> str | None:
    """Return the SMTP password (CRISIS_EMAIL__PASSWORD, else the named Secret block, else None)."""
    if settings.password is not None:
        return settings.password.get_secret_value()
    if settings.password_block:
        from prefect.blocks.system import Secret

        return str(Secret.load(settings.password_block).get())
    return None
