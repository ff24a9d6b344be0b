"""Errors that also carry a message key, so a page can show them in the reader's language.

The English text stays the exception's `str()` (the API's `detail`, the logs); `message_key` and
`message_values` name the same message in the console's catalogues (api/locale). Domain errors
take them as keyword arguments; an error without a key is shown as its English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


class Explained:
    """Mixin: `message_key` and `message_values` beside an exception's English text."""

    message_key: str | None = None
    message_values: Mapping[str, object] = MappingProxyType({})

    def explain(self, key: str, **values: object) -> None:
        """Name the catalogue message (and its placeholders) that says the same as the English text."""
        self.message_key = key
        self.message_values = values
