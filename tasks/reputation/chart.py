"""The weekly 声誉报告's trend charts as PNGs (matplotlib, headless), labelled in Chinese with a CJK font found
explicitly (fonts-wqy-zenhei on Debian). Pure: series in, figures and bytes out."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from functools import cache

import matplotlib
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from tasks.charts import cjk_font  # noqa: E402

PANELS = (("volume", "声量（条）"), ("negative_share", "负面占比"), ("share_of_voice", "品类内声量份额"))


@cache
def chart_font() -> FontProperties:
    """Return the properties of the installed CJK font (by its file, so matplotlib looks nothing up again), or
    fail in one line (tasks.charts.ChartFontMissing)."""
    return FontProperties(fname=cjk_font().fname)


def trend_figure(title: str, labels: Sequence[str], series: Mapping[str, Mapping[str, Sequence[float]]],
                 rivals: Sequence[str]) -> Figure:
    """Return a figure of three panels (volume, negative share, share of voice) over `labels`, one line per
    brand; rivals dashed and named 竞品. `series`: brand -> indicator -> one value per label."""
    font = chart_font()
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.6), dpi=90)
    for axis, (indicator, name) in zip(axes, PANELS, strict=True):
        for brand, values in series.items():
            rival = brand in rivals
            axis.plot(list(labels), list(values[indicator]), marker="o", markersize=3, linewidth=1.5,
                      linestyle="--" if rival else "-", label=f"{brand}（竞品）" if rival else brand)
        axis.set_title(name, fontproperties=font, fontsize=10)
        if indicator != "volume":
            axis.yaxis.set_major_formatter(PercentFormatter(1.0))
        axis.tick_params(axis="x", labelrotation=45, labelsize=7)
        axis.grid(alpha=0.2)
    handles, names = axes[0].get_legend_handles_labels()
    small = font.copy()
    small.set_size(8)
    figure.legend(handles, names, loc="lower center", ncol=max(1, min(6, len(names))), prop=small)
    figure.suptitle(title, fontproperties=font, fontsize=12)
    for axis in axes:
        for text in axis.get_xticklabels():
            text.set_fontproperties(small)
    figure.tight_layout(rect=(0, 0.1, 1, 1))
    return figure


def series_of(frame: pd.DataFrame, key: str, labels: Sequence[object]) -> dict[str, dict[str, list[float]]]:
    """Return brand -> indicator -> one value per label (0 where a label has no row) from rows keyed by `key`."""
    out: dict[str, dict[str, list[float]]] = {}
    for brand, rows in frame.groupby("brand", sort=True):
        indexed = rows.set_index(key)
        out[str(brand)] = {name: [float(indexed[name].get(label, 0.0)) for label in labels] for name, _ in PANELS}
    return out


def png(figure: Figure) -> bytes:
    """Return the figure as PNG bytes and free it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
