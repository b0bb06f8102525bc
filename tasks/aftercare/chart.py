"""The review's volume and sentiment curve as a PNG (matplotlib, headless), labelled in Chinese. Pure: data
in, bytes out.

The labels need a CJK font: one is looked up by name among the fonts matplotlib knows (Debian's
fonts-wqy-zenhei, Noto/Source Han Sans …), and without one the chart fails with one line instead of
drawing boxes where the characters should be.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.transforms import Bbox, blended_transform_factory  # noqa: E402

from tasks.charts import cjk_font  # noqa: E402

MARK_ROWS = 4  # label heights tried, top down, before a label may touch another
_ROW_STEP = 0.1  # in axes heights


def curve_png(hours: Sequence[datetime], volume: Sequence[int], negative: Sequence[int],
              marks: Sequence[tuple[datetime, str]]) -> bytes:
    """Return a PNG of hourly volume and negative mentions, with lifecycle moments marked."""
    figure = curve_figure(hours, volume, negative, marks)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.15)  # nothing cut at the edges
    plt.close(figure)
    return buffer.getvalue()


def curve_figure(hours: Sequence[datetime], volume: Sequence[int], negative: Sequence[int],
                 marks: Sequence[tuple[datetime, str]]) -> Figure:
    """Return the chart as a figure, in the CJK font (labels that would overlap are stacked; moments less
    than an hour apart share one label)."""
    font = cjk_font()
    # the font's own weight (WenQuanYi Zen Hei is 500), so matplotlib does not look for another
    with plt.rc_context({"font.family": font.name, "font.weight": font.weight, "axes.unicode_minus": False}):
        figure, axis = plt.subplots(figsize=(9, 3.6), dpi=100)
        axis.fill_between(hours, volume, step="post", alpha=0.25, color="#2e86c1", label="全部提及")
        axis.step(hours, negative, where="post", color="#c0392b", linewidth=1.6, label="负面提及")
        axis.set_ylim(0, max([*volume, 1]) * 1.6)  # headroom for the moments' labels
        axis.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))
        axis.set_ylabel("条 / 小时")
        axis.set_xlabel("北京时间")
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
        axis.grid(alpha=0.2)
        figure.autofmt_xdate()
        _mark(figure, axis, marks)
    return figure


def _merged(marks: Sequence[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    """Return the moments' labels in time order, moments less than an hour after the first of a group sharing
    its label ("首条负面/发现")."""
    merged: list[tuple[datetime, str]] = []
    for at, label in sorted(marks):
        if merged and (at - merged[-1][0]).total_seconds() < 3600:
            merged[-1] = (merged[-1][0], f"{merged[-1][1]}/{label}")
        else:
            merged.append((at, label))
    return merged


def _apart(box: Bbox, others: Sequence[Bbox], gap: float = 8) -> bool:
    """Tell whether the label's box keeps `gap` pixels from every other label's."""
    return all(box.x1 + gap <= o.x0 or o.x1 + gap <= box.x0 or box.y1 <= o.y0 or o.y1 <= box.y0 for o in others)


def _mark(figure: Figure, axis: Axes, marks: Sequence[tuple[datetime, str]]) -> None:
    """Draw a dashed line per moment and each label at the highest row where it keeps clear of the others."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    place = blended_transform_factory(axis.transData, axis.transAxes)
    placed: list[Bbox] = []
    left, right = (mdates.num2date(x).replace(tzinfo=None) for x in axis.get_xlim())
    for at, _ in marks:
        axis.axvline(at, color="#555555", linestyle="--", linewidth=0.8)
    for at, label in _merged(marks):
        near_right = (at - left) > (right - left) * 0.8
        for row in range(MARK_ROWS):
            text = axis.text(at, 0.97 - row * _ROW_STEP, label, transform=place, va="top", gid="mark",
                             ha="right" if near_right else "left", fontsize=8, color="#333333",
                             bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
            box = text.get_window_extent(renderer)
            if row == MARK_ROWS - 1 or _apart(box, placed):
                placed.append(box)
                break
            text.remove()
