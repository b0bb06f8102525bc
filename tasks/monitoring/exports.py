"""Score an operator's export outside the pipeline (`crisis analyze`): read its texts, write them analysed."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from config.settings import get_settings
from tasks.errors import CrisisError
from tasks.monitoring.analysis import analyse_many
from tasks.monitoring.claims import reading_note
from tasks.monitoring.lexicon import lexicon_data
from tasks.monitoring.sentiment import evidence
from tasks.monitoring.sentiment_model import get_model

BATCH = 2000
# What a responder reads in Excel, in Chinese; 标签 is 负面 / 非负面, which `crisis sentiment train --csv FILE
# --text-column 正文 --label-column 标签` reads back once a person has corrected it.
COLUMNS = ["正文", "正面概率", "标签", "类别", "品牌", "产品", "关键词", "辟谣", "依据"]
NEGATIVE_LABEL, NOT_NEGATIVE_LABEL = "负面", "非负面"


class AnalyzeInputInvalid(CrisisError):
    """The file to analyse cannot be read; the message names it and why."""


def read_texts(path: Path, text_column: str) -> list[str]:
    """Return the texts of a CSV (the text column), a JSONL file (the text field) or a plain file (one per line)."""
    if not path.is_file():
        raise AnalyzeInputInvalid(f"{path}: 文件不存在")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            content = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise AnalyzeInputInvalid(f"{path}: 编码既不是 UTF-8 也不是 GB18030/GBK")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        reader = csv.DictReader(content.splitlines())
        if text_column not in (reader.fieldnames or []):
            raise AnalyzeInputInvalid(f"{path}: 没有 {text_column!r} 列（现有列：{'、'.join(reader.fieldnames or [])}）")
        return [row[text_column] or "" for row in reader]
    if suffix == ".jsonl":
        texts = []
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                texts.append(str(json.loads(line).get(text_column) or ""))
            except (json.JSONDecodeError, AttributeError):
                raise AnalyzeInputInvalid(f"{path}:{number}: 不是 JSON 对象") from None
        return texts
    return [line for line in content.splitlines() if line.strip()]


def write_analysed(texts: list[str], out: Path, advance: Callable[[int], None]) -> Counter[str]:
    """Write each text with its sentiment, label, category, brand, critical terms, debunk flag and why: a health
    claim or debunk that decided the label (reading_note), then the three features that weigh most in its score
    (+ towards positive, - towards negative), to a CSV; return the count per label and category. `advance`
    hears how many texts each batch scored. Overwrites `out`."""
    lexicon, model, threshold = lexicon_data(), get_model(), get_settings().analysis.negative_below
    counts: Counter[str] = Counter()
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for start in range(0, len(texts), BATCH):
            chunk = texts[start : start + BATCH]
            for text, a in zip(chunk, analyse_many(chunk, lexicon, threshold, model), strict=True):
                counts["negative" if a.negative else "positive"] += 1
                counts[f"category:{a.category or '—'}"] += 1
                note = reading_note(a.debunk, a.health_claims)
                why = "；".join(([note] if note else [])
                               + [f"{feature} {weight:+.2f}" for feature, weight in evidence(model, a.tokens)])
                counts["debunk"] += a.debunk
                writer.writerow([text, f"{a.positive:.4f}", NEGATIVE_LABEL if a.negative else NOT_NEGATIVE_LABEL,
                                 a.category or "", a.brand or "", a.product or "", " ".join(a.critical_terms),
                                 "是" if a.debunk else "", why])
            advance(len(chunk))
    return counts
