"""A pause or suspension whose answer the server lost: a slow server accepts the Paused state, its reply
times out, the client sends it again and the retry is refused ("This run has already made this state
transition") with the run already Paused. Prefect's pause_flow_run and suspend_flow_run then raise Pause
before they save the run's input form, so the paused run would show no form and nobody would wait for it.
These helpers recognise that case and save the form as Prefect would have."""

from __future__ import annotations

from typing import Any

from prefect.exceptions import Pause
from prefect.input import RunInput
from prefect.input.run_input import keyset_from_paused_state, run_input_subclass_from_type


def paused_by_us(exc: Pause, key: str) -> bool:
    """Return whether `exc` is the server's refusal of a repeated proposal with the run paused under our own
    `key` (the lost-answer case). The Pause a suspension raises to exit normally carries no reason."""
    state = exc.state
    return bool(exc.args) and state is not None and state.is_paused() and state.state_details.pause_key == key


def save_form(exc: Pause, form: type[RunInput]) -> tuple[type[RunInput], dict[str, Any]]:
    """Save `form` (its schema and description) for the run paused in `exc`; return the form's type and
    keyset, with which its answer is loaded once the run is resumed."""
    assert exc.state is not None
    keyset = keyset_from_paused_state(exc.state)
    form_type = run_input_subclass_from_type(form)
    form_type.save(keyset)
    return form_type, dict(keyset)
