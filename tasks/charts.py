"""The CJK font every chart is labelled with (the review's curve, the weekly 声誉报告's trends). Pure.

A font is looked up by name among the fonts matplotlib knows (Debian's fonts-wqy-zenhei, Noto/Source Han
Sans …); without one a chart fails with one line instead of drawing boxes where the characters should be.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib import font_manager
from matplotlib.font_manager import FontEntry

from tasks.errors import CrisisError

CJK_FONTS = ("WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
             "Source Han Sans CN", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "AR PL UMing CN")


class ChartFontMissing(CrisisError):
    """No CJK font is installed: a chart's Chinese labels would be drawn as boxes."""


def cjk_font(candidates: Sequence[str] = CJK_FONTS) -> FontEntry:
    """Return an installed CJK font (the first of `candidates` matplotlib knows). When none is known, the
    system's fonts are looked at once more: one installed after matplotlib wrote its font cache counts."""
    for rescan in (False, True):
        if rescan:
            _add_new_system_fonts()
        known = {entry.name: entry for entry in font_manager.fontManager.ttflist}
        for name in candidates:
            if name in known:
                return known[name]
    raise ChartFontMissing("未找到中文字体，图表无法显示中文标签：请安装 fonts-wqy-zenhei（apt-get install "
                           "fonts-wqy-zenhei）或 Noto Sans CJK 字体")


def _add_new_system_fonts() -> None:
    manager = font_manager.fontManager
    seen = {entry.fname for entry in manager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in seen:
            try:
                manager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue  # a font file matplotlib cannot read
