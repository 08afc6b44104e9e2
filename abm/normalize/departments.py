"""Department names (部署) -> one canonical path, e.g. ``営業本部/第一営業部``.

Pure per-string functions driven by ``rules/departments.yaml`` (read that file's header for the
exact reading steps; job titles written in the department field come from ``rules/titles.yaml``).
``normalize_departments`` applies them once per unique value of a polars Series.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache

import polars as pl

from abm.errors import RulesError
from abm.normalize.text import fold_label as _fold
from abm.normalize.titles import MAX_CHARS as _MAX_CHARS
from abm.normalize.titles import NO_TITLES, TitleRules, per_unique, title_rules
from abm.rules import Rules, require, string_list

DEPARTMENTS_FILE = "departments.yaml"
_SOFT_DELIMS = re.compile(r"(\s*[・、,，]\s*|\s+)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヶ]")
_ASCII_WORD = re.compile(r"[a-z0-9]+|&")
_OLD_NUMERALS = {"壱": "一", "壹": "一", "弐": "二", "貳": "二", "参": "三", "參": "三"}
_ORDINAL_AFTER = re.compile(r"(.+?)(第)?([一二三四五六七八九十]+)")     # 営業二部 / 営業第二部 (stem part)
_ORDINAL_BEFORE = re.compile(r"(第[一二三四五六七八九十]+)(.+)")
_COMPOUND = re.compile(r"・|及び|および|&|＆")                      # 調達・購買(部): two names of one function
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


# --- text helpers ---------------------------------------------------------------------------------

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


# --- rules parsing --------------------------------------------------------------------------------

def department_rules(rules: Rules) -> DepartmentRules:
    """Parse and validate ``departments.yaml`` (+ ``titles.yaml``; a RulesError names file and key)."""
    doc, file = rules.doc(DEPARTMENTS_FILE), rules.path(DEPARTMENTS_FILE)
    rules_titles = rules.view(title_rules)
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
    variants = doc.get("unit_variants") or []
    if not isinstance(variants, list) or not all(
            isinstance(v, list) and len(v) >= 2 and all(isinstance(u, str) and _fold(u) in levels for u in v)
            for v in variants):
        raise RulesError(file, "unit_variants", "expected a list of lists of two or more units")
    suffix_alt = "|".join(re.escape(s) for s, _, _, _ in units)
    dr = DepartmentRules(
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
        ordinal_first=frozenset(_fold(u["unit"]) for u in doc["units"] if u.get("ordinal_first")),
        unit_variants=tuple(frozenset(_fold(u) for u in v) for v in variants),
    )
    synonyms: dict[str, str] = {}
    for canonical, aliases in (require(doc, "synonyms", dict, file) or {}).items():
        for alias in string_list(aliases, file, f"synonyms.{canonical}") + (str(canonical),):
            synonyms[_stem_key(alias, dr)] = _fold(str(canonical))
    known = set(synonyms.values()) | {_fold(s) for s in string_list(doc.get("known_stems", []), file,
                                                                    "known_stems")}
    dr = replace(dr, synonyms=synonyms, known_stems=tuple(sorted(known, key=lambda s: (-len(s), s))))
    aliases = doc.get("internal_aliases") or {}
    if not isinstance(aliases, dict):
        raise RulesError(file, "internal_aliases", "expected a mapping of department -> canonical department")
    return replace(dr, titles=rules_titles, internal_aliases={
        k2: v2 for k, v in aliases.items()
        if (k2 := _normalize_path(str(k), dr, None)) and (v2 := _normalize_path(str(v), dr, None))})


@lru_cache(maxsize=1)
def default_departments() -> DepartmentRules:
    """The project's own rules, loaded once (used when a caller passes ``rules=None``)."""
    from abm.rules import load_rules

    return load_rules(validate=False).view(department_rules)



# --- reading ----------------------------------------------------------------------------------

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


def _unit_and_stem(words: list[str], rules: DepartmentRules) -> tuple[str | None, list[str]]:
    """English unit word (Dept., Division …, first or last) and the words that name the department."""
    if len(words) > 2 and words[0] in rules.en_units and words[1] == "of":
        return words[0], words[2:]
    if len(words) > 1 and words[-1] in rules.en_units:
        return words[-1], words[:-1]
    return None, words


def _canon_english(text: str, rules: DepartmentRules, titles: TitleRules) -> str | None:
    words = _ASCII_WORD.findall(text.lower())
    if not words or " ".join(words) in titles.ranked_literals:
        return None
    # an ordinal after the name: Sales Dept. 2 / Sales Dept. II / Sales Dept. No. 2
    after = _trailing_number(words[-1], rules) if len(words) > 1 else None
    named = words[:-1] if after else words
    while after and len(named) > 1 and named[-1] in ("no", "nr", "number"):
        named = named[:-1]
    unit_word, stem = _unit_and_stem(named, rules)
    number = rules.en_ordinals.get(stem[0]) if stem else None
    base = stem[1:] if number else stem
    canonical = _synonym(base, rules)
    if canonical is not None and not (number and after):
        unit = rules.en_units[unit_word] if unit_word else rules.default_unit
        number = number or after
        return ("第" + _kanji_number(number) if number else "") + canonical + unit
    unit_word, stem = _unit_and_stem(words, rules)   # not a known department: spelt as written
    spelt = [rules.en_unit_words.get(w, w) for w in (stem + [unit_word] if unit_word else stem)]
    return " ".join(w.title() if w.islower() else w for w in spelt)


def _trailing_number(word: str, rules: DepartmentRules) -> int | None:
    if word.isdigit() and 0 < int(word) < 100:
        return int(word)
    return rules.en_ordinals.get(word) or _ROMAN.get(word)


def _synonym(words: list[str], rules: DepartmentRules) -> str | None:
    """The canonical stem of English words, also of two names of one function (Procurement & Purchasing)."""
    canonical = rules.synonyms.get(" ".join(words))
    parts = _EN_COMPOUND.split(" ".join(words))
    if canonical is None and len(parts) > 1:
        found = {rules.synonyms.get(p.strip(), "") for p in parts}
        canonical = found.pop() if len(found) == 1 and "" not in found else None
    return canonical


def _japanese_stem(stem: str, unit: str | None, rules: DepartmentRules) -> str:
    """Canonical stem: synonyms; 調達・購買 -> 購買 (one function twice); 営業二(部) / 営業第二(部) -> 第二営業."""
    canonical = rules.synonyms.get(_stem_key(stem, rules))
    if canonical is not None:
        return canonical
    if _COMPOUND.search(stem):
        found = {rules.synonyms.get(_stem_key(p, rules), "") for p in _COMPOUND.split(stem)}
        if len(found) == 1 and "" not in found:
            return found.pop()
    m = _ORDINAL_AFTER.fullmatch(stem) if unit in rules.ordinal_first else None
    if m and (m.group(2) or _implies_unit(m.group(1), rules)):
        return "第" + m.group(3) + rules.synonyms.get(_stem_key(m.group(1), rules), m.group(1))
    m = _ORDINAL_BEFORE.fullmatch(stem)
    if m and (named := rules.synonyms.get(_stem_key(m.group(2), rules))):   # 第一セールス -> 第一営業
        return m.group(1) + named
    return stem


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
    return _japanese_stem(stem, unit, rules) + (unit or "")


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
    titles = titles or NO_TITLES
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


def normalize_department(raw: str | None, rules: DepartmentRules | None = None) -> str | None:
    """Counterpart department as canonical path segments joined by '/', e.g. '営業本部/第一営業部'."""
    dr = rules or default_departments()
    return _normalize_path(raw, dr, dr.titles)


def normalize_internal_department(raw: str | None, rules: DepartmentRules | None = None) -> str | None:
    """OUR department, same canonical form (第1営業部 = 第一営業部 = 第１営業部 = 第一 営業部) + site aliases."""
    dr = rules or default_departments()
    path = _normalize_path(raw, dr, dr.titles)
    return dr.internal_aliases.get(path, path) if path else None


def normalize_departments(values: pl.Series, rules: DepartmentRules | None = None,
                          internal: bool = False) -> pl.Series:
    """``normalize_department`` (or the internal variant) over a Series, once per unique value."""
    func = normalize_internal_department if internal else normalize_department
    return per_unique(values, lambda v: func(v, rules), pl.String, default=None)
