"""Messages of the web console and the terminals, from gettext catalogues (zh-CN default, English).

The catalogues are `api/locale/<locale>/LC_MESSAGES/messages.po` (msgid = a stable key such as
`draw.run`, msgstr = the text); they are compiled to `.mo` in memory at first use, so a deployment
needs no build step and an edited `.po` takes effect at the next start. `scripts/messages.py`
(`make messages`) extracts the keys the code uses (Babel: Jinja2 templates and Python) and updates
the catalogues for translators. Templates call `t("key", **values)`; the text is formatted with
`str.format`. A key missing in English falls back to Chinese; a key missing in both shows the key
itself (a typo is visible on the page, never an error) unless `set_strict(True)` (the tests) makes
it raise.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

logger = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
# The console's language codes and the catalogues' locale names.
LOCALES: dict[str, str] = {"zh": "zh_CN", "en": "en"}

_strict = False


class MissingMessageError(KeyError):
    """A message key absent from a catalogue while strict (tests)."""


def catalogue_path(lang: str) -> Path:
    """The `.po` file of one console language."""
    return LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _compiled(lang: str) -> gettext.GNUTranslations:
    with catalogue_path(lang).open("rb") as po:
        catalog = read_po(po, locale=LOCALES[lang], domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy and untranslated entries are left out, as msgfmt does
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def messages(lang: str) -> dict[str, str]:
    """Every translated key of one language's catalogue, read from its compiled form (the header left out)."""
    catalog: dict[object, str] = _compiled(lang)._catalog  # type: ignore[attr-defined]
    found = {key: text for key, text in catalog.items() if isinstance(key, str) and key}
    logger.info("loaded %d messages for %s", len(found), lang)
    return found


def set_strict(strict: bool) -> None:
    """Make a key missing from the chosen language's catalogue raise instead of showing the key."""
    global _strict
    _strict = strict


def translate(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang` (Chinese when missing), formatted with `values`."""
    chosen = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    text = messages(chosen).get(key)
    if text is None:
        if _strict:
            raise MissingMessageError(f"message {key!r} is missing from the {LOCALES[chosen]} catalogue")
        text = messages(DEFAULT_LANGUAGE).get(key, key)
    return text.format(**values) if values else text


def translator(lang: str) -> Callable[..., str]:
    """A `t(key, **values)` function bound to one language (for templates)."""
    chosen = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def t(key: str, **values: object) -> str:
        return translate(chosen, key, **values)

    return t


def has(key: str) -> bool:
    """True when the default catalogue holds `key` (for texts that may be keys or plain words)."""
    return key in messages(DEFAULT_LANGUAGE)
