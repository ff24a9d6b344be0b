"""Messages of the closures page's re-plan report (Simplified Chinese first, English), registered at import."""

from __future__ import annotations

from api import i18n

MESSAGES: dict[str, dict[str, str]] = {
    "closures.room_changed": {"zh": "{site} 场地的 {seats} 位原有专家由 {from_room} 换到 {to_room}",
                              "en": "{seats} kept expert(s) at {site} moved from {from_room} to {to_room}"},
}

i18n.register(MESSAGES)
