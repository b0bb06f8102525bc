"""The default sentiment model's fingerprint (issue 15, item 8): a brand added to the lexicon is watched from the
next scan, without rebuilding the model; a change to what the model is trained on still rebuilds it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from config.files import clear_caches
from tests.unit.conftest import CONFIG


@pytest.fixture
def config_copy(clean_settings: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Return a copy of config/ that the settings read from."""
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy)
    clean_settings.setenv("CRISIS_CONFIG_DIR", str(copy))
    clear_caches()
    return copy


def _fingerprint() -> str:
    from tasks.monitoring.sentiment_model import default_model_path

    clear_caches()
    return default_model_path().name


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_copy_is_read(config_copy: Path) -> None:
    from tasks.monitoring.lexicon import lexicon_data

    _edit(config_copy / "lexicon.toml", '[brands."青禾"]', '[brands."晨露"]\naliases = ["晨露"]\n\n[brands."青禾"]')
    clear_caches()
    assert "晨露" in lexicon_data().brands


def test_a_new_brand_product_or_category_term_keeps_the_model(config_copy: Path) -> None:
    before = _fingerprint()
    lexicon = config_copy / "lexicon.toml"
    _edit(lexicon, '[brands."青禾"]',
          '[brands."晨露"]\naliases = ["晨露", "晨露乳业"]\nproducts = ["晨露酸奶"]\n\n[brands."青禾"]')
    _edit(lexicon, '"青禾燕麦片"]', '"青禾燕麦片", "青禾豆奶"]')
    _edit(lexicon, '"地沟油", "苏丹红",', '"地沟油", "苏丹红", "吊白块",')
    assert _fingerprint() == before


def test_a_change_to_the_seed_words_or_the_model_words_rebuilds(config_copy: Path) -> None:
    before = _fingerprint()
    _edit(config_copy / "sentiment.toml", "weight = 20", "weight = 21")
    after_seeds = _fingerprint()
    assert after_seeds != before
    _edit(config_copy / "lexicon.toml", '"双十一", "双11",', '"双十一", "双11", "618",')
    assert _fingerprint() not in (before, after_seeds)


def test_the_recipe_cuts_text_without_the_brands_a_scan_added(config_copy: Path) -> None:
    """Brands loaded into the shared jieba dictionary by a scan in the same process do not reach the recipe."""
    from tasks.monitoring.analysis import load_user_dictionary, tokenize
    from tasks.monitoring.sentiment_model import recipe_tokenize

    load_user_dictionary(["晨露乳业"])
    assert "晨露乳业" in tokenize("晨露乳业的酸奶")
    assert "晨露乳业" not in recipe_tokenize(["晨露乳业的酸奶"])[0]
