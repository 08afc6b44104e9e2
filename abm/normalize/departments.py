"""Department names (部署) -> one canonical path, e.g. ``営業本部/第一営業部``.

Pure per-string functions driven by ``rules/departments.yaml`` (read that file's header for the
exact reading steps; job titles written in the department field come from ``rules/titles.yaml``).
``normalize_departments`` applies them once per unique value of a polars Series.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import lru_cache

import polars as pl

from abm.errors import RulesError
from abm.normalize.department_words import (
    ASCII_WORD,
    DepartmentRules,
    canon_english,
    compound,
    is_english,
    numerals,
    stem_key,
    trailing_number,
)
from abm.normalize.text import fold_label as _fold
from abm.normalize.titles import MAX_CHARS as _MAX_CHARS
from abm.normalize.titles import NO_TITLES, TitleRules, per_unique, title_rules
from abm.rules import Rules, require, string_list

DEPARTMENTS_FILE = "departments.yaml"
_SOFT_DELIMS = re.compile(r"(\s*[・、,，]\s*|\s+)")
_ORDINAL_AFTER = re.compile(r"(.+?)(第)?([一二三四五六七八九十]+)")     # 営業二部 / 営業第二部 (stem part)
_ORDINAL_BEFORE = re.compile(r"(第[一二三四五六七八九十]+)(.+)")
_COMPOUND = re.compile(r"・|及び|および|&|＆")                      # 調達・購買(部): two names of one function


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
            synonyms[stem_key(alias, dr)] = _fold(str(canonical))
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
    stem = rules.synonyms.get(stem_key(stem, rules), stem)
    return any(stem.endswith(k) for k in rules.known_stems)


def _level(segment: str, rules: DepartmentRules) -> int | None:
    folded = _fold(segment)
    if is_english(folded):
        words = ASCII_WORD.findall(folded.lower())
        unit = next((rules.en_units[w] for w in (words[-1:] + words[:1]) if w in rules.en_units), None)
        if unit is None and rules.synonyms.get(" ".join(words)):
            unit = rules.default_unit
        return rules.unit_levels[unit] if unit else None
    return _japanese_level(numerals(re.sub(r"\s+", "", folded), rules), rules)


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
        both_en = is_english(current) and is_english(token)
        right = next((lv for k in range(i, min(len(words), i + 4))   # bounded: hostile inputs stay linear
                      if (lv := _level("".join(words[i:k + 1]), rules)) is not None), None)
        left = _level(current, rules)
        ordinal = trailing_number(token.lower().strip(" ."), rules) is not None   # "Sales Dept., 2nd"
        if both_en and delim.strip() in {",", "，", "、"} and not ordinal:
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
    if english_comma and all(is_english(s) for s in out):
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


def _japanese_stem(stem: str, unit: str | None, rules: DepartmentRules) -> str:
    """Canonical stem: synonyms; 調達・購買 -> 購買 (one function twice); 営業二(部) / 営業第二(部) -> 第二営業."""
    canonical = rules.synonyms.get(stem_key(stem, rules))
    if canonical is not None:
        return canonical
    if _COMPOUND.search(stem):
        joined = compound([rules.synonyms.get(stem_key(p, rules)) for p in _COMPOUND.split(stem)], rules)
        if joined is not None:
            return joined
    m = _ORDINAL_AFTER.fullmatch(stem) if unit in rules.ordinal_first else None
    if m and (m.group(2) or _implies_unit(m.group(1), rules)):
        return "第" + m.group(3) + rules.synonyms.get(stem_key(m.group(1), rules), m.group(1))
    m = _ORDINAL_BEFORE.fullmatch(stem)
    if m and (named := rules.synonyms.get(stem_key(m.group(2), rules))):   # 第一セールス -> 第一営業
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
    if is_english(text):
        return canon_english(text, rules, titles)
    text = numerals(re.sub(r"\s+", "", text).upper(), rules)
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
            segments.extend(_compact_split(folded, rules) if not is_english(folded) else [folded])
    titles = titles or NO_TITLES
    out: list[str] = []
    for seg in segments:
        canon = _canon_segment(seg, rules, titles)
        parts = _compact_split(canon, rules) if canon and not is_english(canon) else [canon]
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
