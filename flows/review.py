"""Review runbook (总结和反思): the after-action review of a resolved incident."""

from __future__ import annotations

from prefect import flow

from tasks.aftercare.tasks import write_review


@flow(name="review", log_prints=True)
def review(incident_key: str) -> str:
    """Write the incident's review.

    1) rebuild the timeline from the audit trail; 2) compute TTD / TTA / TTM / TTR;
    3) sum the compensation; 4) write var/reviews/<KEY>.md and publish it as an artifact.
    """
    return write_review(incident_key)
