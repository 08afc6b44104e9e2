"""Words of department names: the parsed rules, numbers, stem keys, English names and compounds.

Split from ``abm.normalize.departments`` (which reads whole department paths) so each module stays
small; nothing here reads a path or splits segments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from abm.normalize.text import fold_label as _fold
from abm.normalize.titles import NO_TITLES, TitleRules

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヶ]")
ASCII_WORD = re.compile(r"[a-z0-9]+|&")
_OLD_NUMERALS = {"壱": "一", "壹": "一", "弐": "二", "貳": "二", "参": "三", "參": "三"}
_EN_COMPOUND = re.compile(r"\s*&\s*|\s+and\s+")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}


@dataclass(frozen=True)
class DepartmentRules:
    default_unit: str
    blank_values: frozenset[str]
    hard_split: re.Pattern[str]
    units: tuple[tuple[str, str, int, bool], ...]   # (suffix, canonical unit, level, split_inside), longest first
    standalone_units: frozenset[str]                 # units that are a department on their own (本社)
    unit_levels: dict[str, int]                      # canonical unit -> level
    number_before_unit: re.Pattern[str]
    synonyms: dict[str, str]                         # folded stem key -> canonical stem
    known_stems: tuple[str, ...]                     # canonical stems a bare stem may end with
    en_units: dict[str, str]
    en_unit_words: dict[str, str]
    en_ordinals: dict[str, int]
    internal_aliases: dict[str, str]
    titles: TitleRules = NO_TITLES                   # job titles (cut off department names)
    ordinal_first: frozenset[str] = frozenset()      # units written 第N + stem + unit (営業二部 -> 第二営業部)
    unit_variants: tuple[frozenset[str], ...] = ()   # units one account writes for one department (室/部)



def is_english(text: str) -> bool:
    return not _CJK.search(text) and bool(re.search(r"[A-Za-z]", text))


def kanji_number(n: int) -> str:
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n >= 1000:
        return str(n)
    out = ""
    for value, mark in ((100, "百"), (10, "十")):
        q, n = divmod(n, value)
        if q:
            out += ("" if q == 1 else digits[q]) + mark
    return out + (digits[n] if n else "")


def numerals(text: str, rules: DepartmentRules) -> str:
    text = re.sub(r"第([壱壹弐貳参參])", lambda m: "第" + _OLD_NUMERALS[m.group(1)], text)
    text = re.sub(r"第([0-9]+)", lambda m: "第" + kanji_number(int(m.group(1))), text)
    return rules.number_before_unit.sub(lambda m: kanji_number(int(m.group(1))), text)


def stem_key(text: str, rules: DepartmentRules) -> str:
    folded = _fold(text).casefold()
    if is_english(folded):
        return " ".join(ASCII_WORD.findall(folded))
    return numerals(re.sub(r"\s+", "", folded), rules)


def unit_and_stem(words: list[str], rules: DepartmentRules) -> tuple[str | None, list[str]]:
    """English unit word (Dept., Division …, first or last) and the words that name the department."""
    if len(words) > 2 and words[0] in rules.en_units and words[1] == "of":
        return words[0], words[2:]
    if len(words) > 1 and words[-1] in rules.en_units:
        return words[-1], words[:-1]
    return None, words


def canon_english(text: str, rules: DepartmentRules, titles: TitleRules) -> str | None:
    words = ASCII_WORD.findall(text.lower())
    if not words or " ".join(words) in titles.ranked_literals:
        return None
    # an ordinal after the name: Sales Dept. 2 / Sales Dept. II / Sales Dept. No. 2
    after = trailing_number(words[-1], rules) if len(words) > 1 else None
    named = words[:-1] if after else words
    while after and len(named) > 1 and named[-1] in ("no", "nr", "number"):
        named = named[:-1]
    unit_word, stem = unit_and_stem(named, rules)
    number = rules.en_ordinals.get(stem[0]) if stem else None
    base = stem[1:] if number else stem
    if not number and len(stem) > 2 and stem[0] in ("no", "nr", "number") and stem[1].isdigit():
        number, base = int(stem[1]), stem[2:]         # No. 2 Sales Dept. / Sales No. 2 Dept.
    elif not number and len(stem) > 2 and stem[-2] in ("no", "nr", "number") and stem[-1].isdigit():
        number, base = int(stem[-1]), stem[:-2]
    canonical = synonym(base, rules)
    if canonical is not None and not (number and after):
        unit = rules.en_units[unit_word] if unit_word else rules.default_unit
        number = number or after
        return ("第" + kanji_number(number) if number else "") + canonical + unit
    unit_word, stem = unit_and_stem(words, rules)   # not a known department: spelt as written
    spelt = [rules.en_unit_words.get(w, w) for w in (stem + [unit_word] if unit_word else stem)]
    return " ".join(w.title() if w.islower() else w for w in spelt)


def trailing_number(word: str, rules: DepartmentRules) -> int | None:
    if word.isdigit() and 0 < int(word) < 100:
        return int(word)
    return rules.en_ordinals.get(word) or _ROMAN.get(word)


def synonym(words: list[str], rules: DepartmentRules) -> str | None:
    """The canonical stem of English words, also of two names of one function (Procurement & Purchasing)."""
    canonical = rules.synonyms.get(" ".join(words))
    parts = _EN_COMPOUND.split(" ".join(words))
    if canonical is None and len(parts) > 1:
        canonical = compound([rules.synonyms.get(p.strip()) for p in parts], rules)
    return canonical


def compound(canonicals: list[str | None], rules: DepartmentRules) -> str | None:
    """A compound of known functions: one function named twice (調達・購買) is that function; two
    functions are one department named by both, written the same whichever way it was joined
    (総務・人事 = 総務人事 = HR & General Affairs -> 人事総務 when that is a synonym, else the stems in the
    order of the synonyms table: Marketing & Sales -> 営業・マーケティング); None when a part is not a
    known function."""
    if not canonicals or any(c is None for c in canonicals):
        return None
    distinct = list(dict.fromkeys(c for c in canonicals if c))
    if len(distinct) == 1:
        return distinct[0]
    for order in (distinct, distinct[::-1]):
        joined = rules.synonyms.get(stem_key("".join(order), rules))
        if joined is not None:
            return joined
    rank = {c: i for i, c in enumerate(dict.fromkeys(rules.synonyms.values()))}
    return "・".join(sorted(distinct, key=lambda c: (rank.get(c, len(rank)), c)))
