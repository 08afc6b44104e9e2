"""The sales-ops collision report: one self-contained HTML file, every value escaped.

The page is rendered by an autoescaped jinja2 template: the overview (counts and inline SVG charts)
as HTML, and every flag as compact JSON embedded once in a ``<script type="application/json">``
(see model.py); a small inline script (templates/report.js) pages, searches, filters and sorts it
and draws the cards of the current page only. Nothing is loaded from the network at view time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from abm import __version__
from abm.report import json_rows
from abm.report.messages import DEFAULT_LANG, Messages
from abm.report.model import model_frames
from abm.report.overview import build_overview
from abm.report.quality import build_quality

_ENV = Environment(loader=PackageLoader("abm.report", "templates"), autoescape=select_autoescape(default=True))
_ASSETS = resources.files("abm.report").joinpath("templates")

# characters that could end the <script> element or start a comment / change parsing inside it,
# written as JSON escapes (the parsed data is unchanged); str.replace per character is ~10x faster
# than str.translate on a report of several MB
_JSON_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                 ("\u2029", "\\u2029"))


def script_json(data: Any) -> Markup:
    """``data`` as compact JSON that is safe inside ``<script type="application/json">``; a dict's
    values may be frames, written as lists of rows (``abm.report.json_rows``)."""
    text = json_rows.dumps(data) if isinstance(data, dict) else json.dumps(data, **json_rows.DUMPS)
    for char, escape in _JSON_ESCAPES:   # no escape contains a character escaped after it
        text = text.replace(char, escape)
    return Markup(text)


def render_report(tables: Mapping[str, pl.DataFrame], as_of: date, counts: Mapping[str, Any],
                  lang: str = DEFAULT_LANG) -> str:
    msg = Messages(lang)
    data = model_frames(tables)
    data["m"] = msg.table
    data["as_of"] = as_of.isoformat()
    return _ENV.get_template("report.html.j2").render(
        lang=msg.lang, msg=msg, as_of=as_of.isoformat(), version=__version__,
        overview=build_overview(tables, counts, msg), data=script_json(data),
        corrections=tables["overrides"].to_dicts() if "overrides" in tables else [],
        quality=build_quality(tables),
        css=_asset("report.css"), script=_asset("report.js"))


def _asset(name: str) -> Markup:
    """Our own stylesheet or script, inlined as written (it holds no data)."""
    text = _ASSETS.joinpath(name).read_text(encoding="utf-8")
    assert "</" + "script" not in text.lower() and "</" + "style" not in text.lower(), name
    return Markup(text)


def write_report(path: Path, tables: Mapping[str, pl.DataFrame], as_of: date, counts: Mapping[str, Any],
                 lang: str = DEFAULT_LANG) -> None:
    """Write report.html for ``tables`` (the run's output tables) to ``path``."""
    path.write_text(render_report(tables, as_of, counts, lang), encoding="utf-8")
