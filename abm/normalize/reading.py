"""Company reading across scripts: one key that a Latin-letter name and its Japanese name share.

``Alpha Software Inc.`` / アルファソフトウェア株式会社, ``HanshinChuo Steel K.K.`` / 阪神中央工業,
``Asahi Logistics`` / 旭物流. A Latin name is read word by word: an English business word becomes
the *group* of its Japanese renderings (``rules/romaji.yaml`` ``translations``: Steel → 鉄鋼 or
工業, Trading → 商事 or 物産), any other word that is not spelled in Hepburn syllables its
katakana loan-word reading (e2k, a maintained English → katakana model shipped with its weights;
romanised Japanese words such as *Sakura* or *Hanshin* stay as written), then romaji.
(alkana's English dictionary would also catch Hepburn-shaped English words such as *union*, but it
is GPL-2.0 and this project is MIT.) A Japanese name is
romanised (pykakasi) and its trailing business words are replaced by their group the same way.

The key (``company_gist``) is lossy on purpose — 工業 and 鉄鋼 share a group — so the account spec
uses it only between a Latin-letter name and a Japanese one, where the plain romaji key cannot
agree. Readings are cached per distinct word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import polars as pl

from abm.errors import RulesError
from abm.normalize.dictionaries import quiet_gc
from abm.normalize.text import by_identity, clean, fold_romaji, romaji
from abm.normalize.unique import Batched, apply_unique, apply_unique_later, one_blas_thread
from abm.rules import Rules, require, string_list

ROMAJI_FILE = "romaji.yaml"
_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
#: a word spelled in Hepburn syllables is read as written (Sakura, Hanshin), even when it is also English
_HEPBURN = re.compile(r"^(?:(?:kk|ss|tt|pp|cch|tch)?(?:ch|sh|ts|[kgsztdnhbpmyrwfj]?y?)[aeiou]|n|m(?=[bpm]))+$")
#: long vowels written or not (guroobaru / gurobaru, haamonii / hamoni)
_LONG = re.compile(r"([aeiou])\1+")


@dataclass(frozen=True)
class ReadingRules:
    folds: tuple[tuple[re.Pattern[str], str], ...]
    #: English word or two-word phrase (lower case) -> business-word group label
    english: Mapping[str, str]
    #: romaji of a Japanese business word -> group label, longest first
    japanese: tuple[tuple[str, str], ...]


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _fold(s: str, folds: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    s = _NON_ALNUM.sub("", s.lower())
    return _LONG.sub(r"\1", fold_romaji(s, folds))


def reading_rules(rules: Rules) -> ReadingRules:
    """Parse ``romaji.yaml`` ``translations`` (English → list of Japanese renderings)."""
    from abm.normalize.text import text_rules

    tr = rules.view(text_rules)
    file = rules.path(ROMAJI_FILE)
    raw = require(rules.doc(ROMAJI_FILE), "translations", dict, file)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    english: dict[str, list[str]] = {}
    for word, renderings in raw.items():
        if not isinstance(word, str) or not re.fullmatch(r"[a-z0-9]+( [a-z0-9]+)?", word):
            raise RulesError(file, f"translations.{word}", "keys are one or two lower-case a-z0-9 words")
        keys = [_fold(romaji(clean(j) or j), tr.romaji_folds) for j in string_list(renderings, file,
                                                                                     f"translations.{word}")]
        if not all(keys):
            raise RulesError(file, f"translations.{word}", "a rendering has no reading")
        english[word] = keys
        for k in keys[1:]:
            parent[find(k)] = find(keys[0])
    groups: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for keys in english.values():
        for k in keys:
            members.setdefault(find(k), []).append(k)
    for ks in members.values():
        label = "<" + min(ks) + ">"
        for k in ks:
            groups[k] = label
    eng = {w: groups[keys[0]] for w, keys in english.items()}
    eng.update({k: label for k, label in groups.items() if k not in eng})  # romanised: Kogyo, Shoji
    jap = tuple(sorted(groups.items(), key=lambda kv: (-len(kv[0]), kv[0])))
    return ReadingRules(folds=tr.romaji_folds, english=MappingProxyType(eng), japanese=jap)


@lru_cache(maxsize=1)
def _english_model() -> Any:
    try:
        import e2k
        with quiet_gc():
            return e2k.C2K()
    except Exception:  # pragma: no cover - a dependency; a broken install reads words as written
        return None


def _needs_model(word: str) -> bool:
    """Whether a word of a Latin name is read by the loan-word model (not Hepburn, not a number)."""
    return len(word) >= 3 and not word.isdigit() and not _HEPBURN.match(word)


@lru_cache(maxsize=65536)
def _latin_word(word: str) -> str:
    """A word's katakana loan reading in romaji (alpha → arufa); a word spelled in Hepburn syllables
    stays as written (sakura, hanshin)."""
    if not _needs_model(word):
        return word
    c2k = _english_model()
    if c2k is None:
        return word
    try:
        return _loan_romaji(c2k(word), word)
    except Exception:
        return word


def _loan_romaji(katakana: str, word: str) -> str:
    """The model's katakana reading of ``word`` in romaji (the word as written when it has none)."""
    return romaji(katakana) or word


#: every character below U+0250 (Latin, Latin-1, Latin Extended-A/B)
_LATIN_ONLY = re.compile("[\x00-\u024f]*")


def _is_latin(s: str) -> bool:
    return _LATIN_ONLY.fullmatch(s) is not None


def _split_latin(s: str, rr: ReadingRules) -> tuple[list[str], list[str]]:
    """(head words, business-word group labels) of a Latin name: Trading, Steel … become groups."""
    tail: list[str] = []
    words = _WORD.findall(_CAMEL.sub(" ", s).lower())
    while len(words) > 1:
        two = " ".join(words[-2:]) if len(words) > 2 else None
        if two and two in rr.english:
            tail.insert(0, rr.english[two])
            words = words[:-2]
        elif words[-1] in rr.english:
            tail.insert(0, rr.english[words[-1]])
            words = words[:-1]
        else:
            break
    return words, tail


def _by_length(japanese: tuple[tuple[str, str], ...]) -> tuple[tuple[int, dict[str, str]], ...]:
    """``ReadingRules.japanese`` as (length, {romaji: label}), longest first: one dictionary probe
    per length instead of an ``endswith`` per business word (the same first match: a length has at
    most one key equal to the end of a name)."""
    lengths: dict[int, dict[str, str]] = {}
    for key, label in japanese:
        if key:
            lengths.setdefault(len(key), {}).setdefault(key, label)
    return tuple(sorted(lengths.items(), reverse=True))


_Ends = tuple[tuple[tuple[int, dict[str, str]], ...], tuple[str, ...]]


@by_identity
def _ends(japanese: tuple[tuple[str, str], ...]) -> _Ends:
    """``_by_length(japanese)`` and every romaji of ``japanese`` (for one ``str.endswith``)."""
    return _by_length(japanese), tuple(key for key, _ in japanese if key)


def company_gist(display: str | None, rules: Rules | ReadingRules, reading: str | None = None,
                 loans: Mapping[str, str] | None = None) -> str | None:
    """The cross-script reading key of a display name (legal form already removed), or None.
    ``reading``: the name's romaji when already known (``company_romaji``: no second pykakasi pass);
    ``loans``: loan-word readings of its words already computed (``with_company_gist``)."""
    rr = rules if isinstance(rules, ReadingRules) else rules.view(reading_rules)
    try:
        s = clean(display, keep_spaces=True)
        if not s:
            return None
        tail: list[str] = []
        if _is_latin(s):
            words, tail = _split_latin(s, rr)
            head = _fold("".join((loans or {}).get(w) or _latin_word(w) for w in words), rr.folds)
        else:
            head = _fold(reading or romaji(s), rr.folds)
            by_length, endings = _ends(rr.japanese)
            stripped = True
            while stripped:   # the longest business word at the end first, as rr.japanese is ordered
                stripped = False
                if not head.endswith(endings):   # one C call: no business word at the end, nothing to strip
                    break
                for length, labels in by_length:
                    label = labels.get(head[-length:]) if len(head) - length >= 2 else None
                    if label is not None:
                        tail.insert(0, label)
                        head = head[:-length]
                        stripped = True
                        break
        return (head + "".join(tail)) or None
    except Exception:
        return None


#: loan readings already read in this process (each input kind names many of the same words)
_LOANS: dict[str, str] = {}


def _read_words(rows: list[tuple[str, ...]]) -> list[tuple[str]]:
    """``_latin_word`` of each (word,) row, the model's words read in one batch
    (``abm.normalize.loanwords.katakana``: the same readings, ~5-8x less CPU than one by one)."""
    from abm.normalize.loanwords import katakana

    words = [w for (w,) in rows]
    model = _english_model()
    todo = [w for w in words if _needs_model(w)]
    if model is None or not todo:
        return [(_latin_word(w),) for w in words]
    try:
        with one_blas_thread():
            read = dict(zip(todo, katakana(model, todo), strict=True))
    except Exception:  # noqa: BLE001 - as ``_latin_word``: a word the model fails on stays as written
        return [(_latin_word(w),) for w in words]
    return [(_loan_romaji(read[w], w) if w in read else w,) for w in words]


def loan_readings_later(df: pl.DataFrame, rules: ReadingRules, background: bool = False) -> Callable[[], dict[str, str]]:
    """The loan-word readings of the words of ``df``'s Latin display names (``company_name``), in two
    halves: the model starts now on every distinct word not read before in this process (kept across
    runs: value cache ``loan_word``), all of them in one batch (``_read_words``; in a thread when
    ``background``: the caller works meanwhile), and the returned function waits for it and gives
    {word: reading}."""
    names = df.select("company_name").drop_nulls().unique().get_column("company_name").to_list()
    words = sorted({w for n in names if (c := clean(n, keep_spaces=True)) and _is_latin(c)
                    for w in _split_latin(c, rules)[0] if _needs_model(w)})
    new = [w for w in words if w not in _LOANS]
    if not new:
        return lambda: {w: _LOANS[w] for w in words}
    read = apply_unique_later(pl.DataFrame({"word": new}, schema={"word": pl.Utf8}), ["word"], Batched(_read_words),
                              {"loan": pl.Utf8}, cache="loan_word", background=background)

    def loans() -> dict[str, str]:
        got = read()
        _LOANS.update(zip(got.get_column("word").to_list(), got.get_column("loan").to_list(), strict=True))
        return {w: _LOANS[w] for w in words}
    return loans


def needs_loans(display: str | None) -> bool:
    """Whether ``company_gist`` of this display name reads loan words (a Latin-letter name); the
    gist of any other name depends only on the name and its romaji."""
    try:
        s = clean(display, keep_spaces=True)
        return s is not None and s != "" and _is_latin(s)
    except Exception:
        return False


def with_company_gist(df: pl.DataFrame, rules: ReadingRules, loans: Mapping[str, str] | None = None,
                      only: pl.Expr | None = None) -> pl.DataFrame:
    """``df`` (company_name, company_romaji) + ``company_gist`` (of the rows where ``only`` holds, by
    default every named company). The loan-word model runs once per distinct word of the Latin names
    (``loan_readings_later``; ``loans``: its readings when already known); a Japanese name reuses
    its ``company_romaji``."""
    if loans is None:
        loans = loan_readings_later(df, rules)()
    return apply_unique(df, ["company_name", "company_romaji"],
                        lambda name, rom: (company_gist(name, rules, rom, loans),), {"company_gist": pl.Utf8},
                        only=pl.col("company_name").is_not_null() if only is None else only, cache="company_gist")
