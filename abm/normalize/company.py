"""Company names: legal form (法人格) removal, matching key, romaji key, suffix-extension guard.

Rules: ``legal_forms.yaml`` (spellings of every legal form), ``company.yaml`` (distinguishing
suffixes, branch words), plus the text rules (``variant_kanji.yaml``, ``romaji.yaml``).
All functions are pure and never raise; they accept a ``Rules`` or the parsed ``CompanyRules``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import polars as pl

from abm.errors import RulesError
from abm.normalize.text import (
    TextRules,
    by_identity,
    clean,
    fold_romaji,
    fold_variants,
    romaji,
    text_rules,
    to_katakana,
)
from abm.rules import Rules, require, string_list

LEGAL_FILE = "legal_forms.yaml"
COMPANY_FILE = "company.yaml"
_SPELLING_KINDS = ("japanese", "abbreviations", "kana", "kana_abbreviations", "latin")


@dataclass(frozen=True)
class CompanyRules:
    text: TextRules
    #: spelling (as matched after NFKC, latin lower-cased) -> canonical legal form
    canonical: Mapping[str, str]
    anywhere: re.Pattern[str]      # japanese spellings and bracketed abbreviations
    kana_start: re.Pattern[str]
    kana_end: re.Pattern[str]
    latin_end: re.Pattern[str]
    latin_canonical: tuple[tuple[re.Pattern[str], str], ...]
    branch_end: re.Pattern[str] | None
    suffixes: tuple[str, ...]
    suffix_keys: frozenset[str]
    suffix_romaji: frozenset[str]
    ocr_lookalikes: Mapping[str, str]
    #: what a match of ``anywhere`` / ``kana_end`` / ``branch_end`` must contain or end with, so
    #: that text without it is not searched (None: always search; see ``_search``)
    anywhere_chars: frozenset[str] | None = None
    kana_end_words: tuple[str, ...] | None = None
    branch_words: tuple[str, ...] | None = None


def _alt(items: list[str]) -> str:
    return "|".join(re.escape(x) for x in sorted(set(items), key=len, reverse=True))


#: OCR and hand entry double a character (株式式会社) or read 一 as a long-vowel mark (ー般社団法人)
_OCR_LOOKALIKES = {"一": "一ーｰ－-"}
_OCR_CHAR_CLASS = {ch: f"[{alike}]" for ch, alike in _OCR_LOOKALIKES.items()}
#: the characters that ``[A-Za-z0-9]`` matches under ``re.IGNORECASE``: ASCII and four others
_LATIN_CASED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\u0130\u0131\u017f\u212a")


def _ocr_tolerant_alt(items: list[str]) -> str:
    """Like ``_alt`` for written-out legal forms, but each character may be OCR-swapped and each but the
    last repeated: a name may begin with the form's last character (株式会社社会情報, 一般財団法人人材育成
    協会), and a doubled last character would eat it."""
    def pattern(word: str) -> str:
        return "".join(f"(?:{_OCR_CHAR_CLASS.get(ch, re.escape(ch))})" + ("+" if i < len(word) - 1 else "")
                       for i, ch in enumerate(word))
    return "|".join(pattern(x) for x in sorted(set(items), key=len, reverse=True))


def _ocr_canonical_spelling(found: str) -> str:
    """The spelling an OCR-tolerant match stands for: runs collapsed, look-alikes undone."""
    out: list[str] = []
    for ch in found:
        ch = "一" if ch in "ーｰ－-" else ch
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def _latin_pattern(spelling: str) -> str:
    """'Co., Ltd.' -> co[\\s.,]*ltd\\.? : case, spacing and punctuation do not matter."""
    tokens = [t for t in re.split(r"[^A-Za-z0-9]+", spelling.lower()) if t]
    return r"[\s.,]*".join(re.escape(t) for t in tokens) + r"\.?"


def company_rules(rules: Rules) -> CompanyRules:
    """Parse and validate ``legal_forms.yaml`` and ``company.yaml`` (and the text rules)."""
    tr = rules.view(text_rules)
    lfile, cfile = rules.path(LEGAL_FILE), rules.path(COMPANY_FILE)
    forms = require(rules.doc(LEGAL_FILE), "forms", dict, lfile)
    canonical: dict[str, str] = {}
    spell: dict[str, list[str]] = {k: [] for k in _SPELLING_KINDS}
    latin: list[tuple[str, str]] = []
    for form, entry in forms.items():
        if not isinstance(form, str) or not form.strip():
            raise RulesError(lfile, f"forms.{form}", "a legal form must be a non-empty string")
        if not isinstance(entry, dict) or not entry:
            raise RulesError(lfile, f"forms.{form}", "expected a mapping of spelling lists")
        for kind, values in entry.items():
            if kind not in _SPELLING_KINDS:
                raise RulesError(lfile, f"forms.{form}.{kind}", f"unknown key; use one of {', '.join(_SPELLING_KINDS)}")
            for v in string_list(values, lfile, f"forms.{form}.{kind}"):
                v = clean(v) or ""
                if not v:
                    raise RulesError(lfile, f"forms.{form}.{kind}", "empty spelling")
                if kind == "latin":
                    latin.append((_latin_pattern(v), form))
                else:
                    spell[kind].append(v)
                    canonical[v] = form
    abbr = spell["abbreviations"] + spell["kana_abbreviations"]
    anywhere = re.compile(
        rf"[(\[【〔「]\s*(?P<abbr>{_alt(abbr) or '(?!)'})\s*[)\]】〕」]|(?P<jp>{_ocr_tolerant_alt(spell['japanese']) or '(?!)'})"
    )
    kana = _alt(spell["kana"]) or "(?!)"
    kabbr = _alt(spell["kana_abbreviations"]) or "(?!)"
    kana_start = re.compile(rf"^\s*(?:(?P<k>{kana})|(?P<a>{kabbr})\))\s*")
    kana_end = re.compile(rf"\s*(?:(?P<k>{kana})|\((?P<a>{kabbr}))\s*$")
    latin.sort(key=lambda p: len(p[0]), reverse=True)
    latin_end = re.compile(
        r"(?<![A-Za-z0-9])(?:" + "|".join(p for p, _ in latin) + r")\s*$" if latin else "(?!)", re.IGNORECASE
    )
    latin_canonical = tuple((re.compile(rf"^(?:{p})$", re.IGNORECASE), f) for p, f in latin)

    cdoc = rules.doc(COMPANY_FILE)
    suffixes = string_list(require(cdoc, "distinguishing_suffixes", list, cfile), cfile, "distinguishing_suffixes")
    branch = string_list(require(cdoc, "branch_words", list, cfile), cfile, "branch_words")
    if any(not s.strip() for s in suffixes):
        raise RulesError(cfile, "distinguishing_suffixes", "empty suffix")
    branch_words = tuple(clean(b) or b for b in branch)
    branch_end = re.compile(rf"(?:^|\s)\S*(?:{_alt(list(branch_words))})$") if branch else None
    # a match of ``anywhere`` starts with a bracket or the first character of a written-out form (or
    # one of its look-alikes); one of ``kana_end`` ends with a kana form or abbreviation before spaces
    first = {c for x in spell["japanese"] for c in _OCR_LOOKALIKES.get(x[0], x[0])}
    lookalikes = cdoc.get("ocr_katakana_lookalikes") or {}
    if not isinstance(lookalikes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) == 1 and len(v) == 1 for k, v in lookalikes.items()
    ):
        raise RulesError(cfile, "ocr_katakana_lookalikes", "expected a mapping of single characters")
    view = CompanyRules(
        text=tr, canonical=MappingProxyType(canonical), anywhere=anywhere, kana_start=kana_start,
        kana_end=kana_end, latin_end=latin_end, latin_canonical=latin_canonical, branch_end=branch_end,
        suffixes=suffixes, suffix_keys=frozenset(), suffix_romaji=frozenset(),
        ocr_lookalikes=MappingProxyType(dict(lookalikes)),
        anywhere_chars=frozenset("([【〔「") | frozenset(first),
        kana_end_words=tuple(spell["kana"] + spell["kana_abbreviations"]), branch_words=branch_words,
    )
    keys = frozenset(k for k in (_key(s, view) for s in suffixes) if k)
    roms = frozenset(r for r in (_romaji(s, view) for s in suffixes) if r)
    # the romaji list is data for SQL guards (linkage specs); it must agree with the suffixes
    listed = string_list(require(cdoc, "distinguishing_suffixes_romaji", list, cfile), cfile,
                         "distinguishing_suffixes_romaji")
    for s in suffixes:
        r = _romaji(s, view)
        if r and r not in listed:
            raise RulesError(cfile, "distinguishing_suffixes_romaji", f"add {r!r} (the romaji of suffix {s!r})")
    roms = roms | frozenset(x for x in listed if x)
    return CompanyRules(**{**view.__dict__, "suffix_keys": keys, "suffix_romaji": roms})


def _view(rules: Rules | CompanyRules) -> CompanyRules:
    return rules if isinstance(rules, CompanyRules) else rules.view(company_rules)


# --- legal form ------------------------------------------------------------------------------

_EDGE_PUNCT = re.compile(r"^[\s,.・/&\-]+|[\s,.・/&\-]+$")


def _anywhere(s: str, cr: CompanyRules) -> re.Match[str] | None:
    """``cr.anywhere.search(s)``; text without a bracket or a form's first character has no match."""
    return None if cr.anywhere_chars is not None and cr.anywhere_chars.isdisjoint(s) else cr.anywhere.search(s)


def _kana_end(s: str, cr: CompanyRules) -> re.Match[str] | None:
    """``cr.kana_end.search(s)``; text that does not end (before white space) with a kana form or
    abbreviation has no match."""
    if cr.kana_end_words is not None and not s.rstrip().endswith(cr.kana_end_words):
        return None
    return cr.kana_end.search(s)


def _branch_end(s: str, cr: CompanyRules) -> bool:
    """``cr.branch_end.search(s)`` (``$`` also matches before a final line break)."""
    if cr.branch_end is None:
        return False
    words = cr.branch_words
    if words is not None and not (s.endswith(words) or (s.endswith("\n") and s[:-1].endswith(words))):
        return False
    return cr.branch_end.search(s) is not None


def _latin_end(s: str, cr: CompanyRules) -> re.Match[str] | None:
    """``cr.latin_end.search(s)``: a match ends with a Latin letter or digit, an optional dot and
    white space; without such a letter there, no match."""
    t = s.rstrip()
    t = t[:-1] if t.endswith(".") else t
    return cr.latin_end.search(s) if t and t[-1] in _LATIN_CASED else None


def _strip_once(s: str, cr: CompanyRules) -> tuple[str, str | None]:
    form: str | None = None
    m = _anywhere(s, cr)
    while m is not None:
        found = m.group("abbr") or _ocr_canonical_spelling(m.group("jp"))
        form = form or cr.canonical.get(found)
        pre, post = s[: m.start()], s[m.end():]
        if pre.strip() and post.strip() and _branch_end(" " + post.strip(), cr):
            post = ""  # 山田電機株式会社大阪支店: what follows the legal form names a branch
        s = f"{pre} {post}"
        m = _anywhere(s, cr)
    for search in (cr.kana_start.search, lambda text: _kana_end(text, cr)):
        m = search(s)
        while m is not None and (m.group("k") or m.group("a")):
            form = form or cr.canonical.get(m.group("k") or m.group("a"))
            s = s[: m.start()] + " " + s[m.end():]
            m = search(s)
    while True:
        m = _latin_end(s, cr)
        if m is None or not m.group(0).strip():
            break
        found = m.group(0).strip()
        form = form or next((f for p, f in cr.latin_canonical if p.match(found)), None)
        s = s[: m.start()]
        s = _EDGE_PUNCT.sub("", s)
    s = _EDGE_PUNCT.sub("", s)
    if cr.branch_end is not None and " " in s.strip():
        head, _, tail = s.strip().rpartition(" ")
        if head and _branch_end(" " + tail, cr):
            s = head
    return s, form


def split_legal_form(raw: str | None, rules: Rules | CompanyRules) -> tuple[str | None, str | None]:
    """(display name without legal form, canonical legal form or None).

    ``㈱山田電機``, ``山田電機（株）``, ``山田電機 Co., Ltd.``, ``カ)ヤマダデンキ`` → ``山田電機``/``ヤマダデンキ``
    with ``株式会社``. The display name is NFKC/neologdn-cleaned; a name that is only a legal form gives
    (None, form).
    """
    cr = _view(rules)
    s = clean(raw, keep_spaces=True)
    if s is None:
        return None, None
    form: str | None = None
    try:
        for _ in range(16):  # until stable, so the display name is a fixed point
            stripped, found = _strip_once(s, cr)
            form = form or found
            out = clean(stripped)
            if out == s or out is None:
                return out, form
            s = out
        return s, form
    except Exception:
        return clean(raw), None


# --- keys ------------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[\W_]+")


def _key(name: str, cr: CompanyRules) -> str | None:
    s = fold_variants(clean(name), cr.text.variants)
    if not s:
        return None
    # casefold again after the kana conversion re-composes characters (ǰ → j + caron): a key is
    # casefold-stable, so two spellings that fold alike always meet
    s = (to_katakana(s.casefold()) or "").casefold()
    s = fold_katakana_lookalikes(_NON_WORD.sub("", s), cr.ocr_lookalikes)
    return s or None


def _is_katakana(ch: str) -> bool:
    return "\u30a1" <= ch <= "\u30fa" or ch == "ー"


@by_identity
def _lookalike_near_katakana(table: Mapping[str, str]) -> re.Pattern[str]:
    """A look-alike of ``table`` next to a katakana character (``_is_katakana``)."""
    alike = "".join(re.escape(ch) for ch in table)
    return re.compile(rf"[\u30a1-\u30faー][{alike}]|[{alike}][\u30a1-\u30faー]")


def fold_katakana_lookalikes(s: str, table: Mapping[str, str]) -> str:
    """OCR reads katakana as look-alike kanji (エンジニア → 工ンジ二ア, ロ → 口, カ → 力). Inside a
    katakana word — a neighbour on either side is katakana — such a character is the katakana.
    Applied to matching keys only; display names keep what was written."""
    if not table or table.keys().isdisjoint(s) or _lookalike_near_katakana(table).search(s) is None:
        return s   # no look-alike has a katakana neighbour: nothing changes (工業, 二丁目)
    chars = list(s)
    for _ in range(2):  # a second pass fixes a look-alike whose neighbour was itself one
        for i, ch in enumerate(chars):
            if ch in table:
                left = chars[i - 1] if i > 0 else ""
                right = chars[i + 1] if i + 1 < len(chars) else ""
                if (left and _is_katakana(left)) or (right and _is_katakana(right)):
                    chars[i] = table[ch]
    return "".join(chars)


def company_key(name: str | None, rules: Rules | CompanyRules) -> str | None:
    """Matching key: legal form removed, variant kanji folded, casefolded, hiragana→katakana,
    no spaces or punctuation (``株式会社 髙橋・システム`` → ``高橋システム``)."""
    cr = _view(rules)
    display, _ = split_legal_form(name, cr)
    return _key(display, cr) if display else None


_LATIN_WORD = re.compile(r"[a-z0-9]+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _romaji(name: str, cr: CompanyRules) -> str | None:
    # Latin words in order, so that two-word phrases ("real estate") map before single words
    items: list[tuple[bool, str]] = []
    for token in (clean(name, keep_spaces=True) or "").split(" "):
        if token.isascii():
            items.extend((True, word) for word in _LATIN_WORD.findall(token.lower()))
        else:
            items.append((False, token))
    parts: list[str] = []
    i = 0
    while i < len(items):
        latin, word = items[i]
        if not latin:
            parts.append(romaji(word))
            i += 1
            continue
        if i + 1 < len(items) and items[i + 1][0] and f"{word} {items[i + 1][1]}" in cr.text.words:
            word, i = f"{word} {items[i + 1][1]}", i + 1
        mapped = cr.text.words.get(word)
        parts.append(romaji(mapped) if mapped is not None else word)
        i += 1
    out = _NON_ALNUM.sub("", "".join(parts))
    return fold_romaji(out, cr.text.romaji_folds) or None


def display_keys(display: str, rules: Rules | CompanyRules) -> tuple[str | None, str | None]:
    """(company_key, company_romaji) of a display name already without legal form (skips re-splitting)."""
    cr = _view(rules)
    try:
        return _key(display, cr), _romaji(display, cr)
    except Exception:
        return None, None


def company_romaji(name: str | None, rules: Rules | CompanyRules) -> str | None:
    """a-z0-9 reading key: kana/kanji romanised (pykakasi, Hepburn), Latin lower-cased, English
    business words read through ``romaji.yaml`` (Yamada Electric = Yamada Denki = 山田電機 →
    ``yamadadenki``), long vowels folded."""
    cr = _view(rules)
    display, _ = split_legal_form(name, cr)
    if not display:
        return None
    try:
        return _romaji(display, cr)
    except Exception:
        return None


def company_kana(raw: str | None, rules: Rules | CompanyRules) -> str | None:
    """A name_kana value as katakana without legal form or spaces (``カ)ヤマダ デンキ`` → ``ヤマダデンキ``)."""
    cr = _view(rules)
    kata = to_katakana(clean(raw, keep_spaces=True))
    display, _ = split_legal_form(kata, cr)
    if not display:
        return None
    return _NON_WORD.sub("", to_katakana(display) or "") or None


# --- distinguishing suffixes -----------------------------------------------------------------

def _is_chain(rest: str, parts: frozenset[str]) -> bool:
    """``rest`` is one or more of ``parts`` concatenated (e.g. 情報システム + サービス)."""
    if not rest:
        return False
    ok = [True] + [False] * len(rest)
    for i in range(1, len(rest) + 1):
        ok[i] = any(ok[i - len(p)] and rest[i - len(p):i] == p for p in parts if len(p) <= i)
    return ok[-1]


def _extends(a: str | None, b: str | None, parts: frozenset[str]) -> bool:
    if not a or not b or a == b:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return len(short) >= 2 and long.startswith(short) and _is_chain(long[len(short):], parts)


def is_suffix_extension(name_a: str | None, name_b: str | None, rules: Rules | CompanyRules) -> bool:
    """True when one name is the other plus distinguishing suffixes (○○電機 vs ○○電機システムズ,
    Yamada Denki vs 山田電機サービス): likely a sister company, so the two must not be merged."""
    cr = _view(rules)
    try:
        if _extends(company_key(name_a, cr), company_key(name_b, cr), cr.suffix_keys):
            return True
        return _extends(company_romaji(name_a, cr), company_romaji(name_b, cr), cr.suffix_romaji)
    except Exception:
        return False


def suffix_extension(a: pl.Series, b: pl.Series, rules: Rules | CompanyRules) -> pl.Series:
    """Vectorised ``is_suffix_extension`` over two aligned Series (computed once per unique pair)."""
    cr = _view(rules)
    pairs = pl.DataFrame({"a": a.cast(pl.Utf8), "b": b.cast(pl.Utf8)})
    uniq = pairs.unique()
    flags = [is_suffix_extension(x, y, cr) for x, y in uniq.iter_rows()]
    uniq = uniq.with_columns(pl.Series("flag", flags, dtype=pl.Boolean))
    out = pairs.join(uniq, on=["a", "b"], how="left", nulls_equal=True, maintain_order="left")
    return out["flag"].fill_null(False).alias("suffix_extension")
