"""Probe keys: vectorised (polars) approximations of abm's company keys, for millions of names.

abm's own normaliser (``abm.normalize.company``) runs per distinct value in Python — about a
millisecond a name, far too slow for the five million names of the registry. The cache is
therefore indexed by *probe* keys computed here as polars expressions from the same rules (legal
forms, variant kanji, OCR look-alikes, romaji words). A probe is deliberately coarser than the
exact key: records and registry names whose probes agree are only *candidates*, confirmed with
the exact normaliser on the few names involved (``abm.registry.match``). A probe that differs
where the exact keys agree costs recall, never precision.

- ``name_probe``: NFKC, written-out legal forms removed, variant kanji folded (jntajis tables,
  applied per character), hiragana → katakana, look-alikes folded everywhere, no punctuation.
- ``latin_probe``: lower-case Latin words, legal-form words at the end dropped, English business
  words read through ``romaji.yaml``.
- ``reading_probe``: a romaji skeleton (Hepburn/kunrei spellings and long vowels folded) of a
  kana reading, or of a romaji key — so a furigana meets a record written in Latin letters.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import polars as pl

from abm.normalize.company import LEGAL_FILE, company_rules
from abm.normalize.text import _canon_char, kana_to_romaji, romaji, text_rules
from abm.rules import Rules

#: bump when a probe changes: caches built with another version are rebuilt
PROBE_VERSION = 2

_KATA_SMALL = "ャュョァィゥェォヮ"
_HIRAGANA = ([chr(cp) for cp in range(0x3041, 0x3097)], [chr(cp + 0x60) for cp in range(0x3041, 0x3097)])


@dataclass(frozen=True)
class ProbeRules:
    legal_japanese: str                    # regex alternation of written-out legal forms
    latin_legal_end: str                   # regex: legal-form words at the end of a padded Latin name
    char_folds: tuple[list[str], list[str]]  # per-character folds (variants, hiragana, look-alikes)
    phrase_words: tuple[list[str], list[str]]  # " real estate " -> " fudosan "
    single_words: dict[str, str]           # electric -> denki
    kana_table: tuple[list[str], list[str]]  # katakana (digraphs first) -> romaji


@functools.lru_cache(maxsize=4)
def _cjk_folds() -> tuple[tuple[str, str], ...]:
    """Every CJK ideograph whose MJ shrink chain ends elsewhere (髙 → 高): computed once."""
    out = []
    for lo, hi in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)):
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            canon = _canon_char(ch)
            if canon != ch:
                out.append((ch, canon))
    return tuple(out)


def _latin_tokens(spelling: str) -> str:
    return " ".join(t for t in re.split(r"[^a-z0-9]+", spelling.lower()) if t)


def probe_rules(rules: Rules) -> ProbeRules:
    """Build the probe tables from the same rules files the exact normaliser reads."""
    cr = rules.view(company_rules)
    tr = rules.view(text_rules)
    forms = rules.doc(LEGAL_FILE).get("forms") or {}
    japanese = sorted({s for entry in forms.values() for s in (entry.get("japanese") or [])}, key=len, reverse=True)
    latin = sorted({_latin_tokens(s) for entry in forms.values() for s in (entry.get("latin") or [])} - {""},
                   key=len, reverse=True)
    folds: dict[str, str] = dict(_cjk_folds())
    for old, new in tr.variants.items():
        folds[old] = "".join(_canon_char(x) for x in new)
    for cp in range(0x3041, 0x3097):  # hiragana -> katakana
        folds[chr(cp)] = chr(cp + 0x60)
    folds.update(cr.ocr_lookalikes)   # everywhere, not only inside katakana words: coarser is fine
    words = {w: re.sub(r"[^a-z0-9]", "", romaji(r)) for w, r in tr.words.items()}
    phrases = {w: r for w, r in words.items() if " " in w}
    kana: dict[str, str] = {}
    for cp in range(0x30A1, 0x30FB):
        ch = chr(cp)
        kana[ch] = kana_to_romaji(ch)
        if ch not in _KATA_SMALL:
            for small in _KATA_SMALL:
                pair = kana_to_romaji(ch + small)
                if pair and pair != kana_to_romaji(ch) + kana_to_romaji(small):
                    kana[ch + small] = pair
    kana["ッ"] = "q"   # doubled consonant, resolved by a regex after the table
    kana.pop("ー", None)
    order = sorted(kana, key=len, reverse=True)
    return ProbeRules(
        legal_japanese="|".join(re.escape(s) for s in japanese) or "(?!)",
        latin_legal_end=r"(?: (?:" + "|".join(re.escape(s) for s in latin) + r"))+ $" if latin else "(?!)",
        char_folds=(list(folds), [folds[k] for k in folds]),
        phrase_words=([f" {p} " for p in phrases], [f" {r} " for r in phrases.values()]),
        single_words={w: r for w, r in words.items() if " " not in w},
        kana_table=(order, [kana[k] for k in order]),
    )


def name_probe(expr: pl.Expr, pr: ProbeRules) -> pl.Expr:
    """Probe key of a Japanese (or any) company name; null when nothing is left."""
    s = expr.str.normalize("NFKC").str.replace_all(pr.legal_japanese, "")
    s = s.str.to_lowercase().str.replace_many(*pr.char_folds)
    s = s.str.replace_all(r"[^\p{L}\p{N}]+", "")
    return pl.when(s.str.len_chars() > 0).then(s)


def latin_probe(expr: pl.Expr, pr: ProbeRules) -> pl.Expr:
    """Probe key of a name written in Latin letters (null for any other name)."""
    s = expr.str.normalize("NFKC").str.to_lowercase()
    latin = s.str.contains(r"^[\x00-\x7f]+$") & s.str.contains(r"[a-z]")
    padded = pl.lit(" ") + s.str.replace_all(r"[^a-z0-9]+", " ").str.strip_chars() + pl.lit(" ")
    padded = padded.str.replace(pr.latin_legal_end, " ").str.replace_many(*pr.phrase_words)
    words = padded.str.strip_chars().str.split(" ").list.eval(
        pl.element().replace(pr.single_words)).list.join("")
    return pl.when(latin & (words.str.len_chars() > 0)).then(words)


_SKELETON = (
    ["shi", "chi", "tsu", "sh", "ch", "ji", "j", "fu", "mb", "mp", "aa", "ii", "uu", "ee", "oo", "ou", "ei", "nn",
     "h"],
    ["si", "ti", "tu", "sy", "ty", "zi", "zy", "hu", "nb", "np", "a", "i", "u", "e", "o", "o", "e", "n", ""],
)


def skeleton(expr: pl.Expr) -> pl.Expr:
    """A coarse romaji key: Hepburn/kunrei spellings, long vowels and h dropped (ou = o = oo)."""
    s = expr.str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "")
    s = s.str.replace_many(*_SKELETON, leftmost=True).str.replace_many(*_SKELETON, leftmost=True)
    return pl.when(s.str.len_chars() > 2).then(s)


def reading_probe(expr: pl.Expr, pr: ProbeRules) -> pl.Expr:
    """Romaji skeleton of a kana reading (furigana): katakana → romaji by table, then ``skeleton``."""
    s = expr.str.normalize("NFKC").str.replace_many(*_HIRAGANA)
    s = s.str.replace_all(pr.legal_japanese, "").str.replace_many(*pr.kana_table, leftmost=True)
    s = s.str.replace_all(r"q([bcdfghjkmprstvwz])", "$1$1").str.replace_all(r"[^a-z0-9]+", "")
    return skeleton(s)
