"""The gettext catalogues: both languages hold every key the code uses, with the same placeholders."""

from __future__ import annotations

from pathlib import Path
from string import Formatter

import pytest

from api import i18n
from api.i18n_catalogue import TEMPLATE, extract, read_catalogue, template


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


def _missing(used: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(language, key, first use) for every used key a catalogue lacks."""
    return [(lang, key, where[0]) for lang in i18n.LANGUAGES for key, where in sorted(used.items())
            if key not in i18n.messages(lang)]


def test_both_catalogues_hold_the_same_keys_all_translated() -> None:
    for lang in i18n.LANGUAGES:
        catalog = read_catalogue(i18n.catalogue_path(lang), i18n.LOCALES[lang])
        assert [m.id for m in catalog if m.id and (not m.string or m.fuzzy)] == [], lang
    zh, en = i18n.messages("zh"), i18n.messages("en")
    assert len(zh) > 400
    assert sorted(set(zh) ^ set(en)) == []


# Keys whose languages word the same values differently (the caller passes both).
WORDED_APART = {"calendar.title": ({"year", "month"}, {"year", "month_name"})}  # English names the month


def test_placeholders_agree_between_languages() -> None:
    zh, en = i18n.messages("zh"), i18n.messages("en")
    differ = {key: (_placeholders(zh[key]), _placeholders(en[key])) for key in zh
              if _placeholders(zh[key]) != _placeholders(en[key])}
    assert differ == WORDED_APART


def test_every_key_the_templates_and_code_use_is_in_both_catalogues() -> None:
    used = extract()
    assert {"draw.run", "closures.title", "terminal.title", "venues.room_not_of_site"} <= set(used)
    assert _missing(used) == []


def test_the_check_finds_a_key_no_catalogue_holds(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "templates").mkdir(parents=True)
    (tmp_path / "pkg" / "templates" / "page.html").write_text("<p>{{ t('draw.run') }} {{ t('no.such.key', n=1) }}</p>")
    (tmp_path / "pkg" / "views.py").write_text("def f(t):\n    return t('also.missing')\n")
    used = extract(tmp_path, ["pkg"])
    assert set(used) == {"draw.run", "no.such.key", "also.missing"}
    assert {(lang, key) for lang, key, _ in _missing(used)} == {
        (lang, key) for lang in i18n.LANGUAGES for key in ("no.such.key", "also.missing")}


def test_the_template_is_current() -> None:
    """`make messages` was run after the last key was added (the .pot lists every key)."""
    checked_in = {str(m.id) for m in read_catalogue(TEMPLATE, "en") if m.id}
    assert checked_in == {str(m.id) for m in template(extract()) if m.id}


def test_english_falls_back_to_chinese_then_to_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    catalogues = {"zh": {"a.b": "中文 {n}", "c.d": "只有中文"}, "en": {"a.b": "English {n}"}}
    monkeypatch.setattr(i18n, "messages", lambda lang: catalogues[lang])
    monkeypatch.setattr(i18n, "_strict", False)
    assert i18n.translate("en", "a.b", n=2) == "English 2"
    assert i18n.translate("en", "c.d") == "只有中文"
    assert i18n.translate("xx", "a.b", n=3) == "中文 3"
    assert i18n.translate("en", "typo.key") == "typo.key"
    monkeypatch.setattr(i18n, "_strict", True)
    with pytest.raises(i18n.MissingMessageError, match="typo.key"):
        i18n.translate("zh", "typo.key")
    with pytest.raises(i18n.MissingMessageError, match="c.d"):
        i18n.translate("en", "c.d")


def test_catalogues_compile_from_po_leaving_out_fuzzy_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    po = tmp_path / "en" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "k.one"\nmsgstr "One"\n\n#, fuzzy\nmsgid "k.two"\nmsgstr "Two?"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n._compiled.cache_clear()
    i18n.messages.cache_clear()
    try:
        assert i18n.messages("en") == {"k.one": "One"}
    finally:
        monkeypatch.undo()
        i18n._compiled.cache_clear()
        i18n.messages.cache_clear()
