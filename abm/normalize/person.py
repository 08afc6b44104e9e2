"""Person names: split family/given, display name, matching key, katakana reading, romaji key.

Rules: ``person.yaml`` (common family names with readings, honorifics) and the text rules
(``variant_kanji.yaml``, ``romaji.yaml`` folds). Pure functions that never raise; they accept a
``Rules`` or the parsed ``PersonRules``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from abm.errors import RulesError
from abm.normalize.dictionaries import quiet_gc
from abm.normalize.text import (
    TextRules,
    clean,
    fold_romaji,
    fold_variants,
    is_kana,
    kana_to_romaji,
    romaji,
    segment_words,
    text_rules,
    to_katakana,
)
from abm.rules import Rules, require, string_list

PERSON_FILE = "person.yaml"


@dataclass(frozen=True)
class PersonRules:
    text: TextRules
    family_names: Mapping[str, str]      # kanji (folded) -> katakana reading
    family_kana: frozenset[str]
    family_romaji: frozenset[str]        # folded romaji of the readings
    honorifics: tuple[str, ...]
    latin_titles: frozenset[str]
    #: per-value results of the part functions (names repeat: 1M rows have far fewer distinct parts)
    memo: dict[tuple[str, str | None, str | None], object] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )


def person_rules(rules: Rules) -> PersonRules:
    """Parse and validate ``person.yaml`` (and the text rules)."""
    tr = rules.view(text_rules)
    pfile = rules.path(PERSON_FILE)
    doc = rules.doc(PERSON_FILE)
    names = require(doc, "family_names", dict, pfile)
    folded: dict[str, str] = {}
    for kanji, kana in names.items():
        if not isinstance(kanji, str) or not isinstance(kana, str) or not is_kana(to_katakana(kana)):
            raise RulesError(pfile, f"family_names.{kanji}", "expected a family name mapped to its kana reading")
        folded[fold_variants(clean(kanji), tr.variants) or kanji] = to_katakana(clean(kana)) or kana
    honorifics = string_list(require(doc, "honorifics", list, pfile), pfile, "honorifics")
    titles = string_list(require(doc, "latin_titles", list, pfile), pfile, "latin_titles")
    return PersonRules(
        text=tr,
        family_names=MappingProxyType(folded),
        family_kana=frozenset(folded.values()),
        family_romaji=frozenset(fold_romaji(kana_to_romaji(k), tr.romaji_folds) for k in folded.values()),
        honorifics=tuple(sorted(honorifics, key=len, reverse=True)),
        latin_titles=frozenset(t.lower().strip(".") for t in titles),
    )


def _view(rules: Rules | PersonRules) -> PersonRules:
    return rules if isinstance(rules, PersonRules) else rules.view(person_rules)


class PersonName(NamedTuple):
    family_name: str | None
    given_name: str | None
    person_name: str | None      # display: "山田 太郎" / "Taro Yamada"
    person_name_key: str | None  # folded, no spaces
    name_kana: str | None        # katakana reading, no spaces
    name_romaji: str | None      # folded hepburn tokens, sorted, joined by a space


EMPTY = PersonName(None, None, None, None, None, None)
_LATIN = re.compile(r"^[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'\-. ]*$")
_PUNCT = re.compile(r"[\W_]+")


def _is_latin(s: str | None) -> bool:
    return bool(s) and _LATIN.match(s or "") is not None


def _strip_honorifics(s: str | None, pr: PersonRules) -> str | None:
    if not s:
        return None
    for _ in range(2):
        if not s.endswith(pr.honorifics):  # one C call: a pass that strips nothing is skipped
            break
        for h in pr.honorifics:
            if s.endswith(h) and len(s) > len(h):
                s = s[: -len(h)].rstrip()
    if _is_latin(s):
        words = s.split(" ")
        while len(words) > 1 and words[0].lower().strip(".") in pr.latin_titles:
            words = words[1:]
        s = " ".join(words)
    return s or None


def _latin_order(tokens: list[str], pr: PersonRules) -> tuple[str, str | None]:
    """(family, given) of a romanised name without comma: an ALL-CAPS token is the family name
    (Taro YAMADA); else a known family name decides; else "Given Family" unless all tokens are
    upper case (YAMADA TARO, the Japanese systems' convention)."""
    if len(tokens) == 1:
        return tokens[0], None
    upper = [t.isupper() and len(t) > 1 for t in tokens]
    if sum(upper) == 1:
        i = upper.index(True)
        return tokens[i], " ".join(t for j, t in enumerate(tokens) if j != i)
    first, last = (fold_romaji(romaji(t), pr.text.romaji_folds) in pr.family_romaji for t in (tokens[0], tokens[-1]))
    if first != last:
        return (tokens[0], " ".join(tokens[1:])) if first else (tokens[-1], " ".join(tokens[:-1]))
    if all(upper):
        return tokens[0], " ".join(tokens[1:])
    return tokens[-1], " ".join(tokens[:-1])


def _split_unspaced(s: str, pr: PersonRules) -> tuple[str | None, str | None]:
    folded = fold_variants(s, pr.text.variants) or s
    if is_kana(s):
        kata = to_katakana(s) or s
        if kata in pr.family_kana:
            return s, None
        best = max((k for k in pr.family_kana if kata.startswith(k) and len(kata) > len(k)), key=len, default=None)
        return (s[: len(best)], s[len(best):]) if best else (None, None)
    if folded in pr.family_names:
        return folded, None
    divided = _divide(folded)
    if divided is not None:
        return divided
    parts = segment_words(folded)
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    best = max((k for k in pr.family_names if folded.startswith(k) and len(folded) > len(k)), key=len, default=None)
    return (folded[: len(best)], folded[len(best):]) if best else (None, None)


@lru_cache(maxsize=1)
def _divider() -> Any:
    """namedivider's BasicNameDivider: kanji statistics shipped with the package (its GBDT model
    would be downloaded, so it is not used). The Rust build of the same divider (namedivider-core:
    same algorithm, statistics and defaults; ``tests/test_person_divider.py`` checks the answers
    are the same) is used when installed: ~40x faster per name, and it loads in milliseconds where
    the Python package imports pandas (~1-2 s). The Python package is the fallback."""
    try:
        import namedivider_core
        return namedivider_core.BasicNameDivider(separator=" ", normalize_name=True, only_order_score_when_4=False)
    except Exception:  # pragma: no cover - a dependency; the Python package gives the same answers
        pass
    return _python_divider()


@lru_cache(maxsize=1)
def _python_divider() -> Any:
    """The Python implementation of the same divider (the fallback, and the reference in tests)."""
    try:
        from namedivider import BasicNameDivider
        with quiet_gc():
            return BasicNameDivider()
    except Exception:  # pragma: no cover - a dependency; without it the family-name list decides
        return None


@lru_cache(maxsize=65536)
def _divide(name: str) -> tuple[str, str] | None:
    """(family, given) of an unspaced kanji full name (東和也 → 東 / 和也), or None."""
    divider = _divider()
    if divider is None or len(name) < 2 or not all("\u3400" <= ch <= "\u9fff" or ch in "々〆ヶ" for ch in name):
        return None
    try:
        out = divider.divide_name(name)
        return (out.family, out.given) if out.family and out.given else None
    except Exception:
        return None


def split_full_name(full: str | None, rules: Rules | PersonRules) -> tuple[str | None, str | None]:
    """(family, given) of a full name: "山田 太郎", "山田太郎" (known family names / pykakasi words),
    "ヤマダ タロウ", "Yamada, Taro", "Taro YAMADA", "Taro Yamada". (None, None) when it cannot tell."""
    pr = _view(rules)
    s = _strip_honorifics(clean(full, keep_spaces=True), pr)
    if not s:
        return None, None
    try:
        if "," in s:
            fam, _, giv = s.partition(",")
            return (clean(fam, keep_spaces=True), clean(giv, keep_spaces=True))
        tokens = s.split(" ")
        if _is_latin(s):
            return _latin_order(tokens, pr)
        if len(tokens) >= 2:
            return tokens[0], "".join(tokens[1:])
        return _split_unspaced(s, pr)
    except Exception:
        return None, None


_MEMO_LIMIT = 1 << 20


def _memo(pr: PersonRules, name: str, a: str | None, b: str | None, compute: Callable[[], object]) -> object:
    key = (name, a, b)
    try:
        return pr.memo[key]
    except KeyError:
        if len(pr.memo) > _MEMO_LIMIT:
            pr.memo.clear()
        value = pr.memo[key] = compute()
        return value


def _prep(s: str | None, pr: PersonRules) -> str | None:
    """Cleaned (spaces kept), honorifics removed."""
    return _memo(pr, "prep", s, None, lambda: _strip_honorifics(clean(s, keep_spaces=True), pr))  # type: ignore[return-value]


def _latin_case(token: str) -> str:
    return token.capitalize() if token.isupper() or token.islower() else token


def _part(s: str | None, pr: PersonRules) -> str | None:
    """One name part as stored: NFKC, variant kanji folded, no spaces (Latin keeps its spaces)."""
    return _memo(pr, "part", s, None, lambda: _part_uncached(s, pr))  # type: ignore[return-value]


def _part_uncached(s: str | None, pr: PersonRules) -> str | None:
    s = clean(s, keep_spaces=True)
    if not s:
        return None
    if _is_latin(s):
        return " ".join(_latin_case(t) for t in s.split(" "))
    return (fold_variants(s, pr.text.variants) or s).replace(" ", "") or None


def _kana(s: str | None, pr: PersonRules) -> str | None:
    return _memo(pr, "kana", s, None, lambda: _kana_uncached(s))  # type: ignore[return-value]


def _kana_uncached(s: str | None) -> str | None:
    kata = to_katakana(clean(s, keep_spaces=True))
    return kata.replace(" ", "").replace("・", "") if kata and is_kana(kata) else None


def _romaji_tokens(part: str | None, kana: str | None, pr: PersonRules) -> list[str]:
    source = kana or part
    if not source:
        return []
    return list(_memo(pr, "romaji", source, None, lambda: tuple(  # type: ignore[call-overload]
        t for t in (fold_romaji(x, pr.text.romaji_folds) for x in romaji(source).split(" ")) if t
    )))


def normalize_person(
    family: str | None = None,
    given: str | None = None,
    family_kana: str | None = None,
    given_kana: str | None = None,
    full_name: str | None = None,
    rules: Rules | PersonRules | None = None,
) -> PersonName:
    """All person-name fields of one record. Family/given columns win over ``full_name``; a full
    name in the family column alone is split. Kana columns give the reading (else the name itself
    when it is kana); the romaji key comes from the kana when known, else from the name."""
    if rules is None:
        return EMPTY
    pr = _view(rules)
    try:
        fam, giv = _prep(family, pr), _prep(given, pr)
        if fam and not giv and " " in fam and not full_name:
            fam, giv = split_full_name(fam, pr)
        elif giv and not fam and " " in giv and not full_name:
            fam, giv = split_full_name(giv, pr)
        unsplit: str | None = None
        if not fam and not giv and full_name:
            fam, giv = split_full_name(full_name, pr)
            if not fam and not giv:
                unsplit = _part(_strip_honorifics(clean(full_name, keep_spaces=True), pr), pr)
        fam, giv = _part(fam, pr), _part(giv, pr)
        fk, gk = _kana(family_kana, pr), _kana(given_kana, pr)
        if fk and not gk and family_kana and " " in (clean(family_kana, keep_spaces=True) or ""):
            fk, gk = (_kana(x, pr) for x in (clean(family_kana, keep_spaces=True) or "").split(" ", 1))
        if not fk and not gk:
            fk, gk = _kana(fam, pr), _kana(giv, pr)
        latin = _is_latin(fam or giv or unsplit or "")
        if unsplit:
            display = key_src = unsplit
            tokens = _romaji_tokens(unsplit, _kana(unsplit, pr), pr)
        else:
            parts = [p for p in ((giv, fam) if latin else (fam, giv)) if p]
            if not parts:
                return EMPTY
            display = " ".join(parts)
            key_src = "".join(sorted(t.casefold() for t in display.split(" "))) if latin else "".join(parts)
            tokens = _romaji_tokens(fam, fk, pr) + _romaji_tokens(giv, gk, pr)
        key = _PUNCT.sub("", to_katakana(key_src.casefold()) or "") or None
        kana = ((fk or "") + (gk or "")) or None
        return PersonName(fam, giv, display, key, kana, " ".join(sorted(tokens)) or None)
    except Exception:
        return EMPTY


class NamePart(NamedTuple):
    """One family or given column (with its kana column), for assembling names without calling
    ``normalize_person`` once per distinct (family, given) pair; see ``abm.normalize.records``."""

    simple: bool                 # assembling from parts gives exactly normalize_person's answer
    part: str | None
    key: str | None
    kana_col: str | None         # reading from the kana column
    kana_self: str | None        # reading from the name itself when it is kana
    tokens_col: tuple[str, ...]  # romaji tokens (kana column, else the name)
    tokens_self: tuple[str, ...]  # romaji tokens (own kana, else the name)
    kana_col_spaced: bool        # the kana column holds two words (a full reading)


def name_part(raw: str | None, kana_raw: str | None, rules: Rules | PersonRules) -> NamePart:
    """Per-column pieces of ``normalize_person`` for one family or given value (never raises)."""
    pr = _view(rules)
    try:
        part = _part(_prep(raw, pr), pr)
        kana_col, kana_self = _kana(kana_raw, pr), _kana(part, pr)
        key = _PUNCT.sub("", to_katakana(part.casefold()) or "") if part else None
        simple = bool(part and key and not _is_latin(part) and not unicodedata.combining(part[0]))
        return NamePart(
            simple, part, key or None, kana_col, kana_self, tuple(_romaji_tokens(part, kana_col, pr)),
            tuple(_romaji_tokens(part, kana_self, pr)), " " in (clean(kana_raw, keep_spaces=True) or ""),
        )
    except Exception:
        return NamePart(False, None, None, None, None, (), (), False)


def romaji_key(name: str | None, rules: Rules | PersonRules) -> str | None:
    """The romaji key of a free-form name (any script): folded hepburn tokens, sorted."""
    return normalize_person(full_name=name, rules=rules).name_romaji
