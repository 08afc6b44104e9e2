"""Every common reading of a kanji person name, for comparing it with a Latin or kana name.

A kanji given name has several readings (健 Ken/Takeshi, 淳 Jun/Atsushi, 大樹 Daiki/Hiroki/Taiki,
蓮 Ren/Hasu); pykakasi guesses one. ``Ken Sakai`` and 酒井 健 are the same name when *any* common
reading agrees. The readings come from JMnedict (the Japanese proper-name dictionary, via the
``jamdict-data`` package's SQLite file, read-only and offline), entries of person-name types.

``with_name_readings`` adds two columns to person units:

- ``family_reading``: one romaji reading of the family name (kana or Latin as written; kanji via
  pykakasi), to block on within an account across scripts;
- ``name_readings``: ``|``-separated candidate readings of the full name, each in ``name_romaji``'s
  form (folded tokens, sorted, space-joined). A record whose reading is known (a kana column, a
  kana or Latin name) has only that one; a kanji name has every dictionary reading combination.
"""

from __future__ import annotations

import logging
import sqlite3
from functools import lru_cache
from importlib import util
from pathlib import Path

import polars as pl

from abm.normalize.text import fold_romaji, is_kana, kana_to_romaji, romaji, to_katakana

log = logging.getLogger(__name__)

#: JMnedict name types that name people (not places, companies, products), per name part
GIVEN_TYPES = ("given", "masc", "fem", "unclass")
FAMILY_TYPES = ("surname", "unclass")
#: at most this many readings per name part (the dictionary's order: most entries are rare)
MAX_PART = 16
SEP = "|"


@lru_cache(maxsize=1)
def _connection() -> sqlite3.Connection | None:
    spec = util.find_spec("jamdict_data")
    if spec is None or not spec.origin:
        log.warning("jamdict-data is not installed: kanji names are read by pykakasi only")
        return None
    path = Path(spec.origin).parent / "jamdict.db"
    if not path.exists():
        return None
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def _lookup(texts: list[str], kinds: tuple[str, ...]) -> dict[str, list[str]]:
    """kanji text -> its readings (katakana) as a name of one of ``kinds``, in one query per 500."""
    con = _connection()
    if con is None or not texts:
        return {}
    out: dict[str, list[str]] = {}
    types = ",".join("?" * len(kinds))
    for i in range(0, len(texts), 500):
        chunk = texts[i:i + 500]
        marks = ",".join("?" * len(chunk))
        rows = con.execute(
            f"SELECT DISTINCT k.text, n.text FROM NEKanji k JOIN NEKana n ON n.idseq = k.idseq "
            f"JOIN NETranslation t ON t.idseq = k.idseq JOIN NETransType tt ON tt.tid = t.ID "
            f"WHERE k.text IN ({marks}) AND tt.text IN ({types}) ORDER BY k.text, n.ID",
            (*chunk, *kinds)).fetchall()
        for kanji, kana in rows:
            out.setdefault(kanji, []).append(to_katakana(kana) or kana)
    return out


def _tokens(reading: str, folds: tuple) -> str:
    return " ".join(t for t in (fold_romaji(x, folds) for x in reading.lower().split()) if t)


def _is_latin(s: str) -> bool:
    return all(ord(ch) < 0x250 for ch in s)


def _part_readings(part: str | None, dictionary: dict[str, list[str]], folds: tuple) -> list[str]:
    if not part:
        return []
    if _is_latin(part):
        return [_tokens(part, folds)]
    if is_kana(part):
        return [_tokens(kana_to_romaji(to_katakana(part) or part), folds)]
    guess = _tokens(romaji(part), folds)
    found = [_tokens(kana_to_romaji(k), folds) for k in dictionary.get(part, [])[:MAX_PART]]
    return list(dict.fromkeys([guess, *found]))


def with_name_readings(units: pl.DataFrame, folds: tuple) -> pl.DataFrame:
    """``units`` (family_name, given_name, name_kana, name_romaji) + family_reading, name_readings."""
    keys = units.select("family_name", "given_name", "name_kana", "name_romaji").unique()
    def kanji(column: str) -> list[str]:
        return sorted(p for p in keys.get_column(column).drop_nulls().unique().to_list()
                      if not _is_latin(p) and not is_kana(p))

    family_dict, given_dict = _lookup(kanji("family_name"), FAMILY_TYPES), _lookup(kanji("given_name"), GIVEN_TYPES)
    family_out: list[str | None] = []
    names_out: list[str | None] = []
    for fam, giv, kana, rom in keys.iter_rows():
        fr = _part_readings(fam, family_dict, folds)
        family_out.append(fr[0] if fr else None)
        if rom is None:
            names_out.append(None)
            continue
        if kana or not (fam and giv):
            names_out.append(SEP + rom + SEP)
            continue
        gr = _part_readings(giv, given_dict, folds)
        combos = {" ".join(sorted(f"{f} {g}".split())) for f in fr for g in gr} | {rom}
        names_out.append(SEP + SEP.join(sorted(combos)) + SEP)
    mapped = keys.with_columns(pl.Series("family_reading", family_out, dtype=pl.Utf8),
                               pl.Series("name_readings", names_out, dtype=pl.Utf8))
    return units.join(mapped, on=["family_name", "given_name", "name_kana", "name_romaji"], how="left",
                      nulls_equal=True, maintain_order="left")
