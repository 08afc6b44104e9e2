"""Job titles (役職) -> rank 0-9, per the contract's rank table (docs/contract.md "Ranks").

A pure per-string function driven by ``rules/titles.yaml`` (read that file's header for the exact
reading steps). ``title_ranks`` applies it once per unique value of a polars Series.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl

from abm.errors import RulesError
from abm.normalize.text import fold_label
from abm.rules import Rules, require, string_list

TITLES_FILE = "titles.yaml"
MAX_CHARS = 200   # longer titles / department names are read up to here (real ones are far shorter)


@dataclass(frozen=True)
class TitleRules:
    literals: dict[str, tuple[int | None, int]]   # folded literal -> (rank, priority)
    lengths: tuple[int, ...]                      # literal lengths, longest first
    regexes: tuple[tuple[re.Pattern[str], int | None, int], ...]   # (lookahead pattern, rank, priority)
    ranked_literals: frozenset[str]           # folded literals with a rank (a department segment like this is a title)
    japanese_titles: tuple[str, ...]          # the non-ASCII ones, longest first (stripped off department names)
    blank_values: frozenset[str]
    default_rank: int
    unreadable_rank: int


#: No titles known (department names are then read without stripping titles off them).
NO_TITLES = TitleRules({}, (), (), frozenset(), (), frozenset(), 1, 0)


def title_rules(rules: Rules) -> TitleRules:
    """Parse and validate ``titles.yaml`` (a RulesError names file and key)."""
    doc, file = rules.doc(TITLES_FILE), rules.path(TITLES_FILE)
    entries = require(doc, "patterns", list, file)
    literals: dict[str, tuple[int | None, int]] = {}
    regexes: list[tuple[re.Pattern[str], int | None, int]] = []
    for i, entry in enumerate(entries):
        key = f"patterns[{i}]"
        if not isinstance(entry, dict) or "rank" not in entry:
            raise RulesError(file, key, "each pattern needs a rank (0-9 or null) and match/regex lists")
        rank, priority = entry["rank"], entry.get("priority", 0)
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank <= 9):
            raise RulesError(file, f"{key}.rank", "expected an integer 0-9 or null")
        if not isinstance(priority, int):
            raise RulesError(file, f"{key}.priority", "expected an integer")
        for literal in string_list(entry.get("match", []), file, f"{key}.match"):
            folded = fold_label(literal).lower()
            if folded in literals and literals[folded][0] != rank:
                raise RulesError(file, f"{key}.match", f"{literal!r} is listed with another rank already")
            literals[folded] = (rank, priority)
        for j, rx in enumerate(string_list(entry.get("regex", []), file, f"{key}.regex")):
            wrapped = rf"(?<![a-z0-9])(?:{rx})(?![a-z0-9])" if rx.isascii() else rx
            try:
                regexes.append((re.compile(f"(?=({wrapped}))"), rank, priority))
            except re.error as exc:
                raise RulesError(file, f"{key}.regex[{j}]", f"not a valid regular expression ({exc})") from exc
    if not literals:
        raise RulesError(file, "patterns", "no title literals")
    ranked = {lit for lit, (rank, _) in literals.items() if rank is not None}
    blanks = string_list(doc.get("blank_values", []), file, "blank_values")
    return TitleRules(
        literals=literals,
        lengths=tuple(sorted({len(lit) for lit in literals}, reverse=True)),
        regexes=tuple(regexes),
        ranked_literals=frozenset(ranked),
        japanese_titles=tuple(sorted((r for r in ranked if not r.isascii()), key=lambda r: (-len(r), r))),
        blank_values=frozenset(fold_label(b).lower() for b in blanks),
        default_rank=require(doc, "default_rank", int, file),
        unreadable_rank=require(doc, "unreadable_rank", int, file),
    )


@lru_cache(maxsize=1)
def default_titles() -> TitleRules:
    """The project's own title rules, loaded once (used when a caller passes ``rules=None``)."""
    from abm.rules import load_rules

    return load_rules(validate=False).view(title_rules)


def _unreadable(text: str) -> bool:
    """Mojibake or no letters at all: a title we cannot read."""
    if "\ufffd" in text:
        return True
    letters = [c for c in text if unicodedata.category(c).startswith("L")]
    if not letters:
        return True
    latin_ext = sum("\u0080" <= c <= "\u024f" for c in letters)
    junk = sum(c in "?□■" for c in text)
    return (latin_ext >= 2 and latin_ext * 3 >= len(letters)) or junk * 2 >= len(text)


def _word_at(text: str, start: int, end: int) -> bool:
    """ASCII literals match whole words only (cto is not found inside director)."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def title_rank(title: str | None, rules: TitleRules | None = None) -> int:
    """Rank 0-9 per the contract's table. A blank title states no rank: 0 (callers read 0 as "none")."""
    tr = rules or default_titles()
    if title is None:
        return 0
    text = fold_label(title[:MAX_CHARS]).lower()
    if not text or text in tr.blank_values:
        return 0
    if _unreadable(text):
        return tr.unreadable_rank
    found = []   # (start, -length, -priority, end, rank)
    n = len(text)
    for i in range(n):
        for length in tr.lengths:   # the longest literal starting here (dict lookups: fast)
            sub = text[i:i + length]
            if len(sub) == length and sub in tr.literals and (not sub.isascii() or _word_at(text, i, i + length)):
                rank, priority = tr.literals[sub]
                found.append((i, -length, -priority, i + length, rank))
                break
    for pattern, rank, priority in tr.regexes:
        for m in pattern.finditer(text):
            start, end = m.span(1)
            found.append((start, start - end, -priority, end, rank))
    best: int | None = None
    taken_until = 0
    for start, _, _, end, rank in sorted(found):   # leftmost, then longest, then priority; no overlaps
        if start < taken_until:
            continue
        taken_until = end
        if rank is not None and (best is None or rank > best):
            best = rank
    return tr.default_rank if best is None else best


def title_ranks(titles: pl.Series, rules: TitleRules | None = None) -> pl.Series:
    """``title_rank`` over a Series, computed once per unique value."""
    return per_unique(titles, lambda t: title_rank(t, rules), pl.Int8, default=0)


def per_unique(values: pl.Series, func: Any, dtype: Any, default: Any) -> pl.Series:
    """``func`` applied once per distinct non-null value of ``values`` (nulls -> ``default``)."""
    from abm.normalize.unique import map_unique

    return map_unique(values, func, dtype, default)
