"""Organisation normalisation: job titles -> rank 0-9, department names -> one canonical path.

Both are pure per-string functions driven by ``rules/titles.yaml`` and ``rules/departments.yaml``
(read those files' headers for the exact reading steps). Callers apply them once per unique value;
``title_ranks`` / ``normalize_departments`` do that for a polars Series.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import neologdn
import polars as pl

from abm.errors import RulesError
from abm.rules import require, string_list

_TITLES = "titles.yaml"
_DEPTS = "departments.yaml"
_SOFT_DELIMS = re.compile(r"(\s*[・、,，]\s*|\s+)")
_KATAKANA_HYPHEN = re.compile(r"(?<=[ァ-ヴ])-(?=[ァ-ヴー])")
# the long-vowel mark and the kanji 一 are often typed for each other: 第ー営業部, マ一ケティング
_CHOONPU_AS_ONE = re.compile(r"(?:(?<=[\u3400-\u9fff々])|^)ー(?=[\u3400-\u9fff]|$)")
_ONE_AS_CHOONPU = re.compile(r"(?<=[ァ-ヴ])一(?=[ァ-ヴ]|$)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヶ]")
_ASCII_WORD = re.compile(r"[a-z0-9&]+")
_MAX_CHARS = 200   # longer titles / department names are read up to here
_OLD_NUMERALS = {"壱": "一", "壹": "一", "弐": "二", "貳": "二", "参": "三", "參": "三"}


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


_NO_TITLES = TitleRules({}, (), (), frozenset(), (), frozenset(), 1, 0)   # while departments.yaml is parsed


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


@dataclass(frozen=True)
class OrgRules:
    titles: TitleRules
    departments: DepartmentRules


# --- text helpers ---------------------------------------------------------------------------------

def _fold(text: str) -> str:
    """NFKC + neologdn (width, long-vowel marks, spaces between Japanese characters)."""
    folded = _KATAKANA_HYPHEN.sub("ー", unicodedata.normalize("NFKC", neologdn.normalize(text))).strip()
    return _ONE_AS_CHOONPU.sub("ー", _CHOONPU_AS_ONE.sub("一", folded))


def _is_english(text: str) -> bool:
    return not _CJK.search(text) and bool(re.search(r"[A-Za-z]", text))


def _kanji_number(n: int) -> str:
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


# --- rules parsing --------------------------------------------------------------------------------

def _title_rules(doc: Any, file: str) -> TitleRules:
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
            folded = _fold(literal).lower()
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
        blank_values=frozenset(_fold(b).lower() for b in blanks),
        default_rank=require(doc, "default_rank", int, file),
        unreadable_rank=require(doc, "unreadable_rank", int, file),
    )


def _department_rules(doc: Any, file: str) -> DepartmentRules:
    default_unit = require(doc, "default_unit", str, file)
    units = []
    for i, u in enumerate(require(doc, "units", list, file)):
        if not isinstance(u, dict) or not all(isinstance(u.get(k), str) for k in ("suffix", "unit")) \
                or not isinstance(u.get("level"), int):
            raise RulesError(file, f"units[{i}]", "expected {suffix: str, unit: str, level: int}")
        units.append((_fold(u["suffix"]), _fold(u["unit"]), u["level"], bool(u.get("split_inside", False))))
    units.sort(key=lambda u: -len(u[0]))
    levels = {unit: level for _, unit, level, _ in units}
    if default_unit not in levels:
        raise RulesError(file, "default_unit", "must be one of the units")
    english = require(doc, "english", dict, file)
    en_units = require(english, "units", dict, file)
    for word, unit in en_units.items():
        if unit not in levels:
            raise RulesError(file, f"english.units.{word}", f"{unit!r} is not one of the units")
    ordinals = english.get("ordinals", {}) or {}
    if not all(isinstance(v, int) and v > 0 for v in ordinals.values()):
        raise RulesError(file, "english.ordinals", "expected word: positive integer")
    hard = string_list(require(doc, "hard_separators", list, file), file, "hard_separators")
    suffix_alt = "|".join(re.escape(s) for s, _, _, _ in units)
    rules = DepartmentRules(
        default_unit=default_unit,
        blank_values=frozenset(_fold(b).casefold() for b in string_list(doc.get("blank_values", []), file,
                                                                         "blank_values")),
        hard_split=re.compile("|".join(re.escape(unicodedata.normalize("NFKC", h)) for h in hard)),
        units=tuple(units),
        standalone_units=frozenset(_fold(u["unit"]) for u in doc["units"] if u.get("standalone")),
        unit_levels=levels,
        number_before_unit=re.compile(rf"(?<![0-9A-Za-z])([0-9]+)(?=(?:{suffix_alt}))"),
        synonyms={},
        known_stems=(),
        en_units={str(k).lower(): v for k, v in en_units.items()},
        en_unit_words={str(k).lower(): str(v) for k, v in (english.get("unit_words") or {}).items()},
        en_ordinals={str(k).lower(): v for k, v in ordinals.items()},
        internal_aliases={},
    )
    synonyms: dict[str, str] = {}
    for canonical, aliases in (require(doc, "synonyms", dict, file) or {}).items():
        for alias in string_list(aliases, file, f"synonyms.{canonical}") + (str(canonical),):
            synonyms[_stem_key(alias, rules)] = _fold(str(canonical))
    known = set(synonyms.values()) | {_fold(s) for s in string_list(doc.get("known_stems", []), file,
                                                                    "known_stems")}
    rules = replace(rules, synonyms=synonyms, known_stems=tuple(sorted(known, key=lambda s: (-len(s), s))))
    aliases = doc.get("internal_aliases") or {}
    if not isinstance(aliases, dict):
        raise RulesError(file, "internal_aliases", "expected a mapping of department -> canonical department")
    return replace(rules, internal_aliases={
        k2: v2 for k, v in aliases.items()
        if (k2 := _normalize_path(str(k), rules, None)) and (v2 := _normalize_path(str(v), rules, None))})


def org_rules(rules: Any) -> OrgRules:
    """Parse and validate titles.yaml and departments.yaml (a RulesError names file and key)."""
    return OrgRules(titles=_title_rules(rules.doc(_TITLES), rules.path(_TITLES)),
                    departments=_department_rules(rules.doc(_DEPTS), rules.path(_DEPTS)))


@lru_cache(maxsize=1)
def default_org() -> OrgRules:
    """The project's own rules, loaded once (used when a caller passes ``org=None``)."""
    from abm.rules import load_rules

    return load_rules(validate=False).view(org_rules)


# --- titles ---------------------------------------------------------------------------------------

def _word_at(text: str, start: int, end: int) -> bool:
    """ASCII literals match whole words only (cto is not found inside director)."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def title_rank(title: str | None, org: OrgRules | None = None) -> int:
    """Rank 0-9 per the contract's table. A blank title states no rank: 0 (callers read 0 as "none")."""
    rules = (org or default_org()).titles
    if title is None:
        return 0
    text = _fold(title[:_MAX_CHARS]).lower()
    if not text or text in rules.blank_values:
        return 0
    if _unreadable(text):
        return rules.unreadable_rank
    found = []   # (start, -length, -priority, end, rank)
    n = len(text)
    for i in range(n):
        for length in rules.lengths:   # the longest literal starting here (dict lookups: fast)
            sub = text[i:i + length]
            if len(sub) == length and sub in rules.literals and (not sub.isascii() or _word_at(text, i, i + length)):
                rank, priority = rules.literals[sub]
                found.append((i, -length, -priority, i + length, rank))
                break
    for pattern, rank, priority in rules.regexes:
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
    return rules.default_rank if best is None else best


def title_ranks(titles: pl.Series, org: OrgRules | None = None) -> pl.Series:
    """``title_rank`` over a Series, computed once per unique value."""
    return _per_unique(titles, lambda t: title_rank(t, org), pl.Int8, default=0)


# --- departments ----------------------------------------------------------------------------------

def _numerals(text: str, rules: DepartmentRules) -> str:
    text = re.sub(r"第([壱壹弐貳参參])", lambda m: "第" + _OLD_NUMERALS[m.group(1)], text)
    text = re.sub(r"第([0-9]+)", lambda m: "第" + _kanji_number(int(m.group(1))), text)
    return rules.number_before_unit.sub(lambda m: _kanji_number(int(m.group(1))), text)


def _stem_key(text: str, rules: DepartmentRules) -> str:
    folded = _fold(text).casefold()
    if _is_english(folded):
        return " ".join(_ASCII_WORD.findall(folded))
    return _numerals(re.sub(r"\s+", "", folded), rules)


def _split_unit(text: str, rules: DepartmentRules) -> tuple[str, str | None, int | None]:
    for suffix, unit, level, _ in rules.units:
        if text.endswith(suffix):
            return text[: -len(suffix)], unit, level
    return text, None, None


def _japanese_level(text: str, rules: DepartmentRules) -> int | None:
    """The level of the unit a Japanese segment ends with, or of the unit it will get (営業 -> 部)."""
    stem, unit, level = _split_unit(text, rules)
    if level is None and _implies_unit(stem, rules):
        return rules.unit_levels[rules.default_unit]
    return level if stem or unit in rules.standalone_units else None   # a bare 室 is not a unit


def _implies_unit(stem: str, rules: DepartmentRules) -> bool:
    stem = rules.synonyms.get(_stem_key(stem, rules), stem)
    return any(stem.endswith(k) for k in rules.known_stems)


def _level(segment: str, rules: DepartmentRules) -> int | None:
    folded = _fold(segment)
    if _is_english(folded):
        words = _ASCII_WORD.findall(folded.lower())
        unit = next((rules.en_units[w] for w in (words[-1:] + words[:1]) if w in rules.en_units), None)
        if unit is None and rules.synonyms.get(" ".join(words)):
            unit = rules.default_unit
        return rules.unit_levels[unit] if unit else None
    return _japanese_level(_numerals(re.sub(r"\s+", "", folded), rules), rules)


def _soft_split(piece: str, rules: DepartmentRules) -> list[str]:
    """Split at spaces/・/commas only where a higher unit is followed by a lower one.

    The right-hand side is the shortest run of following words that names a unit, so 営業・第1 グループ
    compares 営業(部) with 第1グループ.
    """
    parts = _SOFT_DELIMS.split(piece)
    words, delims = parts[0::2], parts[1::2]
    out: list[str] = []
    current = words[0]
    english_comma = False
    for i, (delim, token) in enumerate(zip(delims, words[1:], strict=True), start=1):
        if not token:
            continue
        if not current:
            current = token
            continue
        both_en = _is_english(current) and _is_english(token)
        right = next((lv for k in range(i, min(len(words), i + 4))   # bounded: hostile inputs stay linear
                      if (lv := _level("".join(words[i:k + 1]), rules)) is not None), None)
        left = _level(current, rules)
        if both_en and delim.strip() in {",", "，", "、"}:
            out.append(current)
            current, english_comma = token, True
        elif not both_en and left is not None and right is not None and left < right:
            out.append(current)
            current = token
        else:
            if delim.isspace():   # keep a space only between two ASCII words
                pair = current[-1] + token[0]
                delim = " " if pair.isascii() and pair.isalnum() else ""
            current += delim + token
    out.append(current)
    if english_comma and all(_is_english(s) for s in out):
        # English writes the smallest unit first ("First Sales Dept., Sales Division")
        out.sort(key=lambda s: 99 if (lv := _level(s, rules)) is None else lv)
    return out


def _compact_split(text: str, rules: DepartmentRules) -> list[str]:
    """営業本部第一営業部 -> [営業本部, 第一営業部] (only after `split_inside` units)."""
    for suffix, _, level, inside in rules.units:
        if not inside:
            continue
        for m in re.finditer(re.escape(suffix), text):
            left, right = text[: m.end()], text[m.end():]
            lower = _japanese_level(right, rules)
            if len(left) - len(suffix) >= 2 and _split_unit(right, rules)[0] and lower is not None \
                    and lower > level:
                return [left, *_compact_split(right, rules)]
    return [text]


def _canon_english(text: str, rules: DepartmentRules, titles: TitleRules) -> str | None:
    words = _ASCII_WORD.findall(text.lower())
    if not words or " ".join(words) in titles.ranked_literals:
        return None
    unit_word = None
    if len(words) > 2 and words[0] in rules.en_units and words[1] == "of":
        unit_word, stem = words[0], words[2:]
    elif len(words) > 1 and words[-1] in rules.en_units:
        unit_word, stem = words[-1], words[:-1]
    else:
        stem = words
    number = rules.en_ordinals.get(stem[0]) if stem else None
    base = stem[1:] if number else stem
    canonical = rules.synonyms.get(" ".join(base))
    if canonical is not None:
        unit = rules.en_units[unit_word] if unit_word else rules.default_unit
        return ("第" + _kanji_number(number) if number else "") + canonical + unit
    spelt = [rules.en_unit_words.get(w, w) for w in (stem + [unit_word] if unit_word else stem)]
    return " ".join(w.title() if w.islower() else w for w in spelt)


def _strip_title(text: str, rules: DepartmentRules, titles: TitleRules) -> str:
    """営業部部長 -> 営業部: a trailing job title after a complete unit."""
    for lit in titles.japanese_titles:
        if text.endswith(lit) and _split_unit(text[: -len(lit)], rules)[1] is not None:
            return text[: -len(lit)]
    return text


def _canon_segment(segment: str, rules: DepartmentRules, titles: TitleRules) -> str | None:
    text = _fold(segment)
    if not text or text.casefold() in rules.blank_values:
        return None
    if _is_english(text):
        return _canon_english(text, rules, titles)
    text = _numerals(re.sub(r"\s+", "", text).upper(), rules)
    if text.lower() in titles.ranked_literals:
        return None    # a job title written in the department field
    text = _strip_title(text, rules, titles)
    stem, unit, _ = _split_unit(text, rules)
    if unit is None and _implies_unit(stem, rules):
        unit = rules.default_unit
    stem = rules.synonyms.get(_stem_key(stem, rules), stem)
    return stem + (unit or "")


def _normalize_path(raw: str | None, rules: DepartmentRules, titles: TitleRules | None) -> str | None:
    """Normalise until stable: a unit completed in one pass (営業 -> 営業部) can reveal a split."""
    text = _normalize_once(raw, rules, titles)
    for _ in range(3):
        again = _normalize_once(text, rules, titles)
        if again == text:
            break
        text = again
    return text


def _normalize_once(raw: str | None, rules: DepartmentRules, titles: TitleRules | None) -> str | None:
    if raw is None:
        return None
    # real department names are short; the cap keeps hostile input (megabytes of text) cheap
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", raw[:_MAX_CHARS])).strip()
    if not text or _fold(text).casefold() in rules.blank_values:
        return None
    segments: list[str] = []
    for piece in rules.hard_split.split(text):
        for soft in _soft_split(piece.strip(), rules):
            folded = _fold(soft)
            segments.extend(_compact_split(folded, rules) if not _is_english(folded) else [folded])
    titles = titles or _NO_TITLES
    out: list[str] = []
    for seg in segments:
        canon = _canon_segment(seg, rules, titles)
        parts = _compact_split(canon, rules) if canon and not _is_english(canon) else [canon]
        if len(parts) > 1:   # a unit added to the stem completed a second level (営業本部営業 -> …営業部)
            parts = [_canon_segment(p, rules, titles) for p in parts if p]
        for part in parts:
            if part and (not out or out[-1] != part):
                out.append(part)
    return "/".join(out) or None


def normalize_department(raw: str | None, org: OrgRules | None = None) -> str | None:
    """Counterpart department as canonical path segments joined by '/', e.g. '営業本部/第一営業部'."""
    rules = org or default_org()
    return _normalize_path(raw, rules.departments, rules.titles)


def normalize_internal_department(raw: str | None, org: OrgRules | None = None) -> str | None:
    """OUR department, same canonical form (第1営業部 = 第一営業部 = 第１営業部 = 第一 営業部) + site aliases."""
    rules = org or default_org()
    path = _normalize_path(raw, rules.departments, rules.titles)
    return rules.departments.internal_aliases.get(path, path) if path else None


def normalize_departments(values: pl.Series, org: OrgRules | None = None, internal: bool = False) -> pl.Series:
    """``normalize_department`` (or the internal variant) over a Series, once per unique value."""
    func = normalize_internal_department if internal else normalize_department
    return _per_unique(values, lambda v: func(v, org), pl.String, default=None)


def _per_unique(values: pl.Series, func: Any, dtype: Any, default: Any) -> pl.Series:
    from abm.normalize.unique import map_unique

    return map_unique(values, func, dtype, default)
