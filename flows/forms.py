"""What a responder sees of the runbooks in the Prefect UI: the run forms (Chinese labels, help text, dropdowns
where the values are known) and readable run names (compensate-INC-20261129-001, scan-20261203-1805).

Prefect names each form field after its parameter and takes help text only from the docstring, so the label
and the help go into the field's JSON schema as well (`json_schema_extra`, which it keeps). The form cannot
leave a text field empty as null: it sends "", which an optional parameter reads as "not given".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from prefect import Flow
from prefect.runtime import flow_run
from pydantic import BeforeValidator, Field, WithJsonSchema

from tasks.common import local_zone, resolve_now


def ask(title: str, help_text: str, choices: Iterable[str] | None = None, **constraints: Any) -> Any:
    """Return a form field with a Chinese label and help text, a dropdown when `choices` are given (the flow
    still checks the value it gets), and pydantic constraints (checked by the server when the form is
    submitted, and by the flow when it starts)."""
    shown: dict[str, Any] = {"title": title, "description": help_text}
    if choices is not None:
        shown["enum"] = list(choices)
    return Field(title=title, description=help_text, json_schema_extra=shown, **constraints)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def optional(kind: type, title: str, help_text: str, choices: Iterable[str] | None = None) -> Any:
    """Return the annotation of an optional parameter (default None) as the form shows it: a text box that may
    stay empty, or a dropdown of `choices` with an empty choice. A number or a time is typed as text, and a
    script starting the deployment passes it as text too (the server checks the form's schema)."""
    schema: dict[str, Any] = {"type": "string"} if choices is None else {"enum": [*choices, None]}
    if kind is int:
        schema["pattern"] = r"^\d*$"
    field = ask(title, help_text)
    if choices is None:
        field.json_schema_extra["default"] = ""
    return Annotated[kind | None, BeforeValidator(_blank_is_none), WithJsonSchema(schema), field]


IncidentKey = Annotated[str, ask("事件编号", "例如 INC-20261129-001（演练事件为 DRILL-…）", min_length=1, max_length=64)]
Now = optional(datetime, "按此时间运行",
               "留空即当前时间。仅用于补跑、回放和测试，例如 2026-11-29 10:00（北京时间）")


def run_name(prefix: str, key: str | None = None, *, stamp: bool = False, at: str = "now") -> Callable[[], str]:
    """Return the run-name callable of a flow: `<prefix>-<the key parameter>` (notify-INC-20261129-001), and
    the run's time in the operators' zone when there is no key or `stamp` (scan-20261203-1805) — the time of
    the parameter `at` when given, else the clock."""

    def name() -> str:
        parameters = flow_run.parameters
        parts = [prefix]
        value = parameters.get(key) if key else None
        if value not in (None, ""):
            parts.append(str(value))
        if stamp or len(parts) == 1:
            when = parameters.get(at)
            parts.append(f"{resolve_now(when if isinstance(when, datetime) else None).astimezone(local_zone()):%Y%m%d-%H%M}")
        return "-".join(parts)

    return name


class _NotPlain(Exception):
    pass


def _plain(value: object) -> object:
    """Return `value` as FastAPI's jsonable_encoder would when it is JSON and datetimes; raise _NotPlain else."""
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    raise _NotPlain


FlowT = TypeVar("FlowT", bound=Flow)  # type: ignore[type-arg]


def plain_parameters(flow_: FlowT) -> FlowT:
    """Have `flow_` record its parameters without FastAPI when they are JSON values and datetimes (what the scan
    and its triage take): Prefect's Flow.serialize_parameters imports fastapi for its jsonable_encoder, about
    0.15 s of a `crisis scan` process. Anything else goes to Prefect's own, unchanged."""
    own = flow_.serialize_parameters

    def serialize_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
        try:
            return {key: _plain(value) for key, value in parameters.items()}
        except _NotPlain:
            return own(parameters)

    flow_.serialize_parameters = serialize_parameters  # type: ignore[method-assign]
    return flow_
