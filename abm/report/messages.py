"""The report's message catalogue (messages.yaml): labels per language, Japanese by default."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from abm.errors import AbmError
from abm.rules import safe_load

DEFAULT_LANG = "ja"


@cache
def _catalogue() -> dict[str, dict[str, Any]]:
    text = resources.files("abm.report").joinpath("messages.yaml").read_text(encoding="utf-8")
    data = safe_load(text)  # libyaml's loader: the report lane's CPU
    if not isinstance(data, dict) or DEFAULT_LANG not in data:
        raise AbmError(f"abm/report/messages.yaml: no '{DEFAULT_LANG}' section")
    return data


def languages() -> tuple[str, ...]:
    return tuple(_catalogue())


class Messages:
    """Labels of one language; a key missing there falls back to Japanese, then to the key itself."""

    def __init__(self, lang: str = DEFAULT_LANG) -> None:
        catalogue = _catalogue()
        if lang not in catalogue:
            raise AbmError(f"report language '{lang}' is not in abm/report/messages.yaml "
                           f"(known: {', '.join(catalogue)})")
        self.lang = lang
        self.table: dict[str, Any] = {**catalogue[DEFAULT_LANG], **catalogue[lang]}
        for key, value in catalogue[DEFAULT_LANG].items():  # nested label groups merge key by key
            if isinstance(value, dict):
                self.table[key] = {**value, **catalogue[lang].get(key, {})}

    def __call__(self, key: str, **values: object) -> str:
        text = str(self.table.get(key, key))
        return text.format(**values) if values else text

    def label(self, group: str, code: str | None) -> str:
        """The label of a code value (severity, level, gap_type, status); unknown codes as written."""
        if code is None:
            return ""
        return str(self.table.get(group, {}).get(code, code))
