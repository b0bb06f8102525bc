"""The review's volume and sentiment curve as a PNG (matplotlib, headless). Pure: data in, bytes out."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def curve_png(hours: Sequence[datetime], volume: Sequence[int], negative: Sequence[int],
              marks: Sequence[tuple[datetime, str]]) -> bytes:
    """Return a PNG of hourly volume and negative mentions, with lifecycle moments marked."""
    figure, axis = plt.subplots(figsize=(9, 3.2), dpi=100)
    axis.fill_between(hours, volume, step="post", alpha=0.25, color="#2e86c1", label="all mentions / hour")
    axis.step(hours, negative, where="post", color="#c0392b", linewidth=1.6, label="negative / hour")
    top = max([*volume, 1])
    for at, label in marks:
        axis.axvline(at, color="#555555", linestyle="--", linewidth=0.8)
        axis.text(at, top * 0.95, label, rotation=90, va="top", ha="right", fontsize=7, color="#555555")
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))
    axis.set_ylabel("mentions per hour")
    axis.legend(loc="upper right", fontsize=8)
    axis.grid(alpha=0.2)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
