"""Settings and config files refuse unknown keys and bad values, naming the key (config/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.files import load_lexicon, load_roster, load_severity
from config.settings import Settings, SettingsError, load_settings
from tests.unit.conftest import CONFIG


def test_shipped_settings_load(clean_settings: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.recovery.window_hours > 0
    assert settings.config_dir == CONFIG


def test_environment_overrides_a_nested_key(clean_settings: pytest.MonkeyPatch) -> None:
    clean_settings.setenv("CRISIS_EMAIL__PORT", "2525")
    assert load_settings().email.port == 2525


@pytest.mark.parametrize("name", ["CRISIS_EMAIL__PROT", "CRISIS_EMIAL__PORT", "CRISIS_DATABASE_URL__X"])
def test_unknown_environment_key_is_named(clean_settings: pytest.MonkeyPatch, name: str) -> None:
    clean_settings.setenv(name, "1")
    with pytest.raises(SettingsError, match=name):
        load_settings()


@pytest.mark.parametrize(
    "name, value, key",
    [("CRISIS_EMAIL__PORT", "abc", "email.port"), ("CRISIS_RECOVERY__WINDOW_HOURS", "0", "recovery.window_hours"),
     ("CRISIS_ANALYSIS__NEGATIVE_BELOW", "1.5", "analysis.negative_below"), ("CRISIS_ENV", "staging", "env")],
)
def test_bad_environment_value_names_the_key(
    clean_settings: pytest.MonkeyPatch, name: str, value: str, key: str
) -> None:
    clean_settings.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert key in str(caught.value)
    assert name in str(caught.value)


@pytest.mark.parametrize(
    "original, typo, key",
    [("window_hours = 24", "window_hour = 24", "recovery.window_hour"),
     ('var_dir = "var"', 'var_dri = "var"', "var_dri")],
)
def test_unknown_key_in_settings_toml_is_named(
    clean_settings: pytest.MonkeyPatch, tmp_path: Path, original: str, typo: str, key: str
) -> None:
    text = (CONFIG / "settings.toml").read_text(encoding="utf-8")
    assert original in text
    bad = tmp_path / "settings.toml"
    bad.write_text(text.replace(original, typo), encoding="utf-8")
    clean_settings.setitem(Settings.model_config, "toml_file", bad)
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        load_settings()


def test_invalid_toml_in_settings_is_reported(clean_settings: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bad = tmp_path / "settings.toml"
    bad.write_text("[recovery\nwindow_hours = 8\n", encoding="utf-8")
    clean_settings.setitem(Settings.model_config, "toml_file", bad)
    with pytest.raises(SettingsError, match="settings.toml 不是有效的 TOML"):
        load_settings()


def test_shipped_config_files_load(clean_settings: pytest.MonkeyPatch) -> None:
    assert "澄星" in load_lexicon().brands
    assert load_severity().heat["I"] > load_severity().heat["II"] > load_severity().heat["III"]
    assert {p.name for p in load_roster().people} >= {"张伟", "王芳"}


def test_roster_with_an_undeclared_role_names_roster_toml(config_copy: Path) -> None:
    roster = config_copy / "roster.toml"
    roster.write_text(roster.read_text(encoding="utf-8").replace('roles = ["scribe"]', 'roles = ["intern"]'),
                      encoding="utf-8")
    with pytest.raises(SettingsError, match=r"roster\.toml.*intern"):
        load_roster()


def test_roster_with_a_bad_email_names_the_field(config_copy: Path) -> None:
    roster = config_copy / "roster.toml"
    roster.write_text(roster.read_text(encoding="utf-8").replace("zhang.wei@shop.example", "zhang.wei"),
                      encoding="utf-8")
    # One bad address must not silence the roster: it loads, and names the field (its own mail fails, named).
    assert [field for field, _ in load_roster().address_problems()] == ["people.0.email"]


def test_unknown_key_in_lexicon_names_file_and_key(config_copy: Path) -> None:
    lexicon = config_copy / "lexicon.toml"
    lexicon.write_text(lexicon.read_text(encoding="utf-8").replace("exclude = []", "exlude = []", 1),
                       encoding="utf-8")
    with pytest.raises(SettingsError, match=r"lexicon\.toml.*exlude"):
        load_lexicon()


@pytest.mark.parametrize(("line", "field"), [('required = ["手机号||地址"]', "required"),
                                             ('required = ["手机号|"]', "required"),
                                             ('required = [""]', "required"),
                                             ('exclude = ["驿站", " "]', "exclude")])
def test_an_empty_term_or_alternative_is_refused(config_copy: Path, line: str, field: str) -> None:
    lexicon = config_copy / "lexicon.toml"
    text = lexicon.read_text(encoding="utf-8")
    marker = '[categories."个人信息泄露"]\n'
    assert marker in text
    if field == "required":
        text = text.replace(marker + 'any = [', marker + line + '\nany = [')
    else:  # the category's own any and exclude make way for the line
        start = text.index(marker) + len(marker)
        end = text.index("exclude = []", start) + len("exclude = []")
        text = text[:start] + 'any = ["泄露"]\n' + line + text[end:]
    lexicon.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=rf"lexicon\.toml.*categories\.个人信息泄露\.{field}.*(空选项|空词条)会匹配所有帖子"):
        load_lexicon()


def test_required_groups_are_read_as_alternatives(config_copy: Path) -> None:
    lexicon = config_copy / "lexicon.toml"
    text = lexicon.read_text(encoding="utf-8")
    marker = '[categories."个人信息泄露"]\n'
    lexicon.write_text(text.replace(marker, marker + 'required = ["手机号 | 地址|个人信息", "卖"]\n'), encoding="utf-8")
    rule = load_lexicon().categories["个人信息泄露"]
    assert rule.required_groups == [("手机号", "地址", "个人信息"), ("卖",)]


def test_severity_with_an_unknown_level_names_the_file(config_copy: Path) -> None:
    severity = config_copy / "severity.toml"
    text = severity.read_text(encoding="utf-8")
    severity.write_text(text.replace('"个人信息泄露" = "II"', '"个人信息泄露" = "V"'), encoding="utf-8")
    with pytest.raises(SettingsError, match=r"severity\.toml.*category_floor"):
        load_severity()


def test_missing_config_file_is_named(config_copy: Path) -> None:
    (config_copy / "roster.toml").unlink()
    with pytest.raises(SettingsError, match=r"roster\.toml: 文件不存在"):
        load_roster()


def test_a_setting_nested_under_a_plain_value_is_unknown(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from config.settings import SettingsError, load_settings

    monkeypatch.setenv("CRISIS_VAR_DIR__VAR_DIR", "x")
    with pytest.raises(SettingsError, match="CRISIS_VAR_DIR__VAR_DIR"):
        load_settings()


def test_lower_case_typos_are_caught_too(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from config.settings import SettingsError, load_settings

    monkeypatch.setenv("crisis_emial__port", "1")
    with pytest.raises(SettingsError, match="crisis_emial__port"):
        load_settings()


@pytest.mark.parametrize("line", ['hownet_weight = "5"', "hownet_weight = -1", "weight = 2.5"])
def test_a_bad_weight_in_sentiment_toml_is_named(config_copy: Path, tmp_path: Path, line: str) -> None:
    from tasks.monitoring import sentiment_model

    path = config_copy / "sentiment.toml"
    key = line.split(" =")[0]
    rows = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line if row.startswith(key + " =") else row for row in rows), encoding="utf-8")
    with pytest.raises(SettingsError, match=rf"sentiment\.toml: {key}: "):
        sentiment_model.build_default_model(tmp_path / "model.json.gz")
    assert not (tmp_path / "model.json.gz").exists()
