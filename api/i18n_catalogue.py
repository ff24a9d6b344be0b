"""Maintenance of the message catalogues: Babel extraction, the `.pot` template, catalogue updates.

`yidi messages` (`make messages`) runs `update`. Extraction reads the Jinja2 templates (Jinja2's
Babel extractor) and the Python of every product package for literal keys passed to `t(...)`,
`translate(lang, ...)` and `explain(...)` (the domain errors' message keys). Keys built at run time
(`'status.' ~ p.status`) cannot be extracted; the zh-CN catalogue is the source list of keys, so the
template is the zh-CN keys plus every extracted one, and a key the code uses but no catalogue holds
is added to both catalogues untranslated, which the tests (tests/api/test_i18n.py) refuse.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from api import i18n

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PACKAGES: tuple[str, ...] = ("config", "ledger", "access", "operations", "notify", "venues", "experts", "scheduler",
                             "evaluation", "openings", "checkin", "av_monitor", "portal", "audit", "accounts", "api")
KEYWORDS: dict[str, tuple[int, ...] | None] = {"t": None, "translate": (2,), "explain": None}
METHODS: list[tuple[str, str]] = [("templates/**.html", "jinja2"), ("**.py", "python")]
TEMPLATE = i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot"
WIDTH = 100


@dataclass(frozen=True)
class Update:
    """What `update` found: keys the code uses that no catalogue held, and untranslated entries."""

    added: tuple[str, ...]
    untranslated: dict[str, tuple[str, ...]]


def extract(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, list[str]]:
    """Every literal message key in the templates and Python of `packages`, with where it is used."""
    found: dict[str, list[str]] = {}
    for package in packages:
        for filename, line, key, _comments, _context in extract_from_dir(
                root / package, METHODS, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True):
            if isinstance(key, str):
                found.setdefault(key, []).append(f"{package}/{filename}:{line}")
    return found


def read_catalogue(path: Path, locale: str) -> Catalog:
    """A `.po` or `.pot` file as a Babel catalogue."""
    with path.open("rb") as source:
        return read_po(source, locale=locale, domain=i18n.DOMAIN)


def _write(path: Path, catalog: Catalog, **options: bool) -> None:
    with path.open("wb") as target:
        write_po(target, catalog, width=WIDTH, sort_output=True, **options)


def template(used: dict[str, list[str]]) -> Catalog:
    """The `.pot`: every zh-CN key and every extracted one (with its uses as locations)."""
    source = read_catalogue(i18n.catalogue_path(i18n.DEFAULT_LANGUAGE), i18n.LOCALES[i18n.DEFAULT_LANGUAGE])
    pot = Catalog(project="Yidi", version="1", copyright_holder="Yidi", msgid_bugs_address="", fuzzy=False)
    for key in sorted({str(m.id) for m in source if m.id} | set(used)):
        locations = [(where.rsplit(":", 1)[0], int(where.rsplit(":", 1)[1])) for where in used.get(key, [])]
        comments = [f"zh: {source[key].string}"] if key in source and source[key].string else []
        pot.add(key, locations=locations, auto_comments=comments,
                flags=source[key].flags if key in source else ())
    return pot


def update(*, write: bool = True) -> Update:
    """Extract, write the `.pot`, add new keys to each catalogue (untranslated); report what needs a translator."""
    used = extract()
    pot = template(used)
    added: set[str] = set()
    untranslated: dict[str, tuple[str, ...]] = {}
    for lang in i18n.LANGUAGES:
        path = i18n.catalogue_path(lang)
        catalog = read_catalogue(path, i18n.LOCALES[lang])
        have = {str(m.id) for m in catalog if m.id}
        for message in pot:
            if message.id and str(message.id) not in have:
                added.add(str(message.id))
                catalog.add(message.id, "", flags=message.flags, auto_comments=message.auto_comments)
        untranslated[lang] = tuple(sorted(str(m.id) for m in catalog if m.id and not m.string))
        if write:
            _write(path, catalog)
    if write:
        _write(TEMPLATE, pot, omit_header=False)
        logger.info("wrote %s: %d keys, %d used in code", TEMPLATE, len(pot), len(used))
    return Update(added=tuple(sorted(added)), untranslated=untranslated)
