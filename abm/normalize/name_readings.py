"""Every common reading of a kanji person name, for comparing it with a Latin or kana name.

A kanji given name has several readings (健 Ken/Takeshi, 淳 Jun/Atsushi, 大樹 Daiki/Hiroki/Taiki,
蓮 Ren/Hasu); pykakasi guesses one. ``Ken Sakai`` and 酒井 健 are the same name when *any* common
reading agrees. The readings come from JMnedict (the Japanese proper-name dictionary, EDRDG,
CC BY-SA 4.0), extracted into ``rules/name_readings.tsv.xz`` by ``tools/build_name_readings.py``
(about 2 MB; read once, on first use — or ahead, by ``warm_table`` in a worker thread while
account linkage runs).

``with_name_readings`` adds two columns to person units:

- ``family_reading``: one romaji reading of the family name (kana or Latin as written; kanji via
  pykakasi), to block on within an account across scripts;
- ``name_readings``: ``|``-separated candidate readings of the full name, each in ``name_romaji``'s
  form (folded tokens, sorted, space-joined). A record whose reading is known (a kana column, a
  kana or Latin name) has only that one; a kanji name has every dictionary reading combination.

Readings only matter across scripts, so the dictionary is read only for kanji names in an account
that also holds a Latin or kana name; elsewhere a kanji name keeps its one reading and no
``family_reading`` (its own kanji are compared as strings).
"""

from __future__ import annotations

import hashlib
import logging
import lzma
from functools import lru_cache
from pathlib import Path

import polars as pl

from abm.normalize.dictionaries import cache_dir, quiet_gc, write_atomically
from abm.normalize.text import fold_romaji, is_kana, kana_to_romaji, romaji, to_katakana
from abm.normalize.unique import apply_unique, cache_readable
from abm.rules import DEFAULT_RULES_DIR

log = logging.getLogger(__name__)

TABLE = DEFAULT_RULES_DIR / "name_readings.tsv.xz"
#: at most this many readings per name part (the dictionary's order: most entries are rare)
MAX_PART = 16
SEP = "|"
#: a kanji (or 々 〆 ヶ) in a name
KANJI = "[\u3400-\u9fff\uf900-\ufaff々〆ヶ]"
#: the value cache of the readings of distinct names (``abm.normalize.unique``)
CACHE = "name_readings"


@lru_cache(maxsize=2)
def _table(path: Path = TABLE) -> dict[str, dict[str, tuple[str, ...]]]:
    """{"f": family kanji -> readings, "g": given kanji -> readings} (katakana); empty if missing."""
    out: dict[str, dict[str, tuple[str, ...]]] = {"f": {}, "g": {}}
    try:
        text = lzma.decompress(path.read_bytes()).decode("utf-8")
    except (OSError, lzma.LZMAError) as exc:
        log.warning("name readings table %s not read (%s): kanji names are read by pykakasi only",
                    path.name, type(exc).__name__)
        return out
    with quiet_gc():
        for line in text.splitlines():
            part, kanji, readings = line.split("\t")
            out[part][kanji] = tuple(readings.split(" "))
    return out


#: the table's columns, as parsed and as cached
SCHEMA = {"part": pl.Utf8, "kanji": pl.Utf8, "readings": pl.Utf8}
#: bump when the cached form changes (a cached file of another form is then never read)
CACHE_FORMAT = "name-readings-1"


@lru_cache(maxsize=2)
def _frame(path: Path = TABLE) -> pl.DataFrame:
    """The table as a frame (part, kanji, readings): parsed by polars, not line by line in Python
    (the same rows as ``_table``; each part/kanji pair is one line).

    Decompressing the .xz costs ~0.14 s of CPU and parsing ~0.05 s on every run that reads kanji
    names without a value cache; the parsed frame is therefore kept as Parquet in abm's dictionary
    cache (``cache_file``, named for the table's content) and read from there (~0.03 s) by later runs."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return _unread(path, exc)
    target = cache_file(raw)
    try:
        cached = pl.read_parquet(target)
        if cached.schema == pl.Schema(SCHEMA):
            return cached
    except (OSError, pl.exceptions.PolarsError):
        pass  # not cached yet, or damaged: parsed again and written anew
    try:
        frame = pl.read_csv(lzma.decompress(raw), separator="\t", has_header=False, quote_char=None, schema=SCHEMA)
    except (lzma.LZMAError, pl.exceptions.PolarsError) as exc:
        return _unread(path, exc)
    write_atomically(target, frame.write_parquet)
    return frame


def cache_file(raw: bytes) -> Path:
    """Where the parsed form of the table whose file holds ``raw`` is cached: named for its content,
    so an edited or rebuilt table gets a file of its own."""
    tag = hashlib.sha256(CACHE_FORMAT.encode() + raw).hexdigest()[:16]
    return cache_dir() / f"{CACHE_FORMAT}-{tag}.parquet"


def _unread(path: Path, exc: Exception) -> pl.DataFrame:
    log.warning("name readings table %s not read (%s): kanji names are read by pykakasi only",
                path.name, type(exc).__name__)
    return pl.DataFrame(schema=SCHEMA)


def _lookup(texts: list[str], part: str) -> dict[str, list[str]]:
    """kanji text -> its readings (katakana) as a name part (``f`` family, ``g`` given)."""
    if not texts:
        return {}
    found = _frame().filter((pl.col("part") == part) & pl.col("kanji").is_in(texts))
    return {k: r.split(" ") for k, r in found.select("kanji", "readings").iter_rows()}


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


def _needs_dictionary(part: str) -> bool:
    return not _is_latin(part) and not is_kana(part)


def with_name_readings(units: pl.DataFrame, folds: tuple) -> pl.DataFrame:
    """``units`` (account_id, family_name, given_name, name_kana, name_romaji) + family_reading,
    name_readings."""
    name = pl.concat_str(pl.col("family_name").fill_null(""), pl.col("given_name").fill_null(""))
    kanji = name.str.contains(KANJI)
    other_script = (~kanji & (name != "")).any().over("account_id") if "account_id" in units.columns \
        else pl.lit(True)
    parts = ["family_name", "given_name", "name_kana", "name_romaji"]
    needed = units.with_columns((~kanji | other_script).alias("__needs_reading"))
    keys = needed.filter("__needs_reading").select(parts).unique()

    def kanji_parts(column: str) -> list[str]:
        return sorted(p for p in keys.get_column(column).drop_nulls().unique().to_list()
                      if not _is_latin(p) and not is_kana(p))

    dictionaries: dict[str, dict[str, list[str]]] = {}

    def dictionary(part: str) -> dict[str, list[str]]:
        """The readings of every kanji family (``f``) or given (``g``) name of the keys, read on first need."""
        if not dictionaries:
            dictionaries.update(f=_lookup(kanji_parts("family_name"), "f"), g=_lookup(kanji_parts("given_name"), "g"))
        return dictionaries[part]

    known: dict[tuple[str, str | None], list[str]] = {}

    def part_readings(side: str, part: str | None) -> list[str]:
        """``_part_readings`` once per family (``f``) or given (``g``) name: a name part recurs in
        many full names, and each of its dictionary readings is romanised once."""
        try:
            return known[side, part]
        except KeyError:
            found = known[side, part] = _part_readings(
                part, dictionary(side) if part and _needs_dictionary(part) else {}, folds)
            return found

    def readings(fam: str | None, giv: str | None, kana: str | None, rom: str | None) -> tuple[str | None, str | None]:
        fr = part_readings("f", fam)
        if rom is None:
            return (fr[0] if fr else None), None
        if kana or not (fam and giv):
            return (fr[0] if fr else None), SEP + rom + SEP
        gr = part_readings("g", giv)
        combos = {" ".join(sorted(f"{f} {g}".split())) for f in fr for g in gr} | {rom}
        return (fr[0] if fr else None), SEP + SEP.join(sorted(combos)) + SEP

    # once per distinct name, kept across runs (value cache ``name_readings``): a night whose names
    # were all seen before does not read the dictionary; in one process, as the dictionary is shared
    mapped = apply_unique(keys, parts, readings, {"family_reading": pl.Utf8, "name_readings": pl.Utf8},
                          cache=CACHE, min_rows=1 << 62)
    out = needed.join(mapped, on=parts, how="left", nulls_equal=True, maintain_order="left")
    # a kanji name with no other script in its account: its one reading, no family_reading
    alone = ~pl.col("__needs_reading")
    return out.with_columns(
        pl.when(alone).then(None).otherwise(pl.col("family_reading")).alias("family_reading"),
        pl.when(alone).then(pl.lit(SEP) + pl.col("name_romaji") + pl.lit(SEP)).otherwise(pl.col("name_readings"))
        .alias("name_readings"),
    ).drop("__needs_reading")


def warm_table(records: pl.DataFrame) -> bool:
    """Read the readings table ahead (``_frame``, cached for the process) when this run will likely
    need it: some person name holds a kanji, and the value cache will not answer for the names (no
    cache, ``--full``, or no file of it yet). Meant for a worker thread while account linkage runs
    (decompression and parsing release the GIL); the result is the same whether or not it ran.
    Returns whether it read the table."""
    if not _cache_misses() or not {"family_name", "given_name"} <= set(records.columns):
        return False
    name = pl.concat_str(pl.col("family_name").fill_null(""), pl.col("given_name").fill_null(""))
    if not records.select(name.str.contains(KANJI).any()).item():
        return False
    _frame()
    return True


def _cache_misses() -> bool:
    """The name-readings value cache will not answer this run (so the dictionary will be read)."""
    return not cache_readable(CACHE)
