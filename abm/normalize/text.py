"""Shared text primitives for Japanese normalisation: clean, fold variant kanji, kana, romaji.

Every function here is pure, accepts any ``str`` (or ``None``) and never raises. The slow ones
(romanisation) are cached per unique string; callers working on tables apply them once per unique
value anyway (see ``abm.normalize.records``).
"""

from __future__ import annotations

import functools
import operator
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

import jaconv
import jntajis
import neologdn

from abm.errors import RulesError
from abm.normalize.kana_reading import checked_reader, kana_alphabet
from abm.rules import Rules, require

# --- rules view -------------------------------------------------------------------------------

VARIANT_FILE = "variant_kanji.yaml"
ROMAJI_FILE = "romaji.yaml"


@dataclass(frozen=True)
class TextRules:
    """Typed view of ``variant_kanji.yaml`` (supplement to jntajis) and ``romaji.yaml``."""

    variants: Mapping[str, str]
    #: ordered regex folds applied to every romaji key until it is stable
    romaji_folds: tuple[tuple[re.Pattern[str], str], ...]
    #: English business word (lower case) -> Japanese reading (kana, kanji or romaji)
    words: Mapping[str, str]


def text_rules(rules: Rules) -> TextRules:
    """Parse and validate ``variant_kanji.yaml`` and ``romaji.yaml``."""
    vfile, rfile = rules.path(VARIANT_FILE), rules.path(ROMAJI_FILE)
    vdoc = rules.doc(VARIANT_FILE)
    variants = require(vdoc, "variants", dict, vfile)
    for old, new in variants.items():
        if not isinstance(old, str) or not isinstance(new, str) or not old or len(old) != 1:
            raise RulesError(vfile, f"variants.{old}", "expected a single character mapped to a string")
    rdoc = rules.doc(ROMAJI_FILE)
    words = require(rdoc, "words", dict, rfile)
    for word, reading in words.items():
        if not isinstance(word, str) or not isinstance(reading, str) or not word.strip():
            raise RulesError(rfile, f"words.{word}", "expected an English word mapped to a reading string")
        if not re.fullmatch(r"[a-z0-9]+( [a-z0-9]+)?", word):
            raise RulesError(rfile, f"words.{word}", "words must be one or two lower-case a-z0-9 tokens")
    folds = []
    for i, item in enumerate(require(rdoc, "folds", list, rfile)):
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise RulesError(rfile, f"folds[{i}]", "expected a [pattern, replacement] pair of strings")
        try:
            folds.append((re.compile(item[0]), item[1]))
        except re.error as exc:
            raise RulesError(rfile, f"folds[{i}]", f"not a valid regular expression ({exc})") from exc
    return TextRules(
        variants=MappingProxyType(dict(variants)),
        romaji_folds=tuple(folds),
        words=MappingProxyType({k: v for k, v in words.items()}),
    )


# --- cleaning -----------------------------------------------------------------------------------

_WS_CONTROLS = {"\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"}
_SPACES = re.compile(r"\s+")
_KATA = "\u30a1-\u30fa\u30fc"
# a dash-like character or 一 between two katakana is a long vowel mark (カ一ド, セ-ル); 一 elsewhere is "one"
_KATA_LONG = re.compile(rf"(?<=[{_KATA}])[-‐‑‒–—―−一ｰ～〜](?=[\u30a1-\u30fa])")
_KATA_LONG_RUN = re.compile(r"ー{2,}")


def strip_controls(s: str) -> str:
    """Line breaks/tabs become spaces; other control, format and surrogate characters are removed."""
    if s.isprintable():
        return s
    out = []
    for ch in s:
        if ch in _WS_CONTROLS:
            out.append(" ")
        elif unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(ch)
    return "".join(out)


def _neologdn(s: str) -> str:
    try:
        return neologdn.normalize(s)
    except Exception:  # defensive: a C extension must not stop the run
        return s


def _clean_once(s: str, keep_spaces: bool) -> str:
    s = unicodedata.normalize("NFKC", strip_controls(s))
    if keep_spaces:
        # neologdn drops spaces between CJK characters; keep the writer's token boundaries
        s = " ".join(_neologdn(tok) for tok in s.split())
    else:
        s = _neologdn(s)
    s = _KATA_LONG_RUN.sub("ー", _KATA_LONG.sub("ー", s))
    return _SPACES.sub(" ", s).strip()


#: text ``clean`` returns as it is, whatever ``keep_spaces``: a run of hiragana, full-width katakana,
#: ー and CJK unified ideographs (which NFKC, neologdn and the katakana fixes leave alone) without
#: the two sequences they change, or words of printable ASCII but ``~`` (neologdn drops it) and ``*``
#: (neologdn drops a space after it) one space apart (``tests/test_normalize_text.py`` checks both
#: against the full cleaning, exhaustively up to three characters)
_SETTLED = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff]+|[!-)+-}]+(?: [!-)+-}]+)*")
_UNSETTLED = re.compile(r"ーー|[\u30a1-\u30fa\u30fc]一[\u30a1-\u30fa]")
#: ... and with ``keep_spaces``, such kana/kanji runs one ASCII space apart ("山田 太郎", a person's
#: full name): each run is cleaned alone and the spaces kept, and the katakana fixes of the whole
#: text cannot reach across a space
_SETTLED_WORDS = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff]+(?: [\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff]+)+")


def clean(s: str | None, keep_spaces: bool = False) -> str | None:
    """NFKC + neologdn (width, dashes, long vowels, spaces), control characters removed.

    ``keep_spaces`` keeps one space wherever the writer put white space (person names need it);
    otherwise neologdn's rule applies (spaces between Japanese characters are dropped). Empty → None.
    """
    if s is None:
        return None
    if not isinstance(s, str):
        s = str(s)
    if (_SETTLED.fullmatch(s) or (keep_spaces and _SETTLED_WORDS.fullmatch(s))) and not _UNSETTLED.search(s):
        return s
    if len(s) <= 256:
        return _clean_cached(s, keep_spaces)
    return _clean(s, keep_spaces)


@functools.lru_cache(maxsize=1 << 18)
def _clean_cached(s: str, keep_spaces: bool) -> str | None:
    return _clean(s, keep_spaces)


def _clean(s: str | None, keep_spaces: bool = False) -> str | None:
    try:
        out = _clean_once(str(s), keep_spaces)
        again = _clean_once(out, keep_spaces)  # NFKC/neologdn interplay: settle in a second pass
        return again or None
    except Exception:
        return None



_KATAKANA_HYPHEN = re.compile(r"(?<=[ァ-ヴ])-(?=[ァ-ヴー])")
# the long-vowel mark and the kanji 一 are often typed for each other: 第ー営業部, マ一ケティング
_CHOONPU_AS_ONE = re.compile(r"(?:(?<=[\u3400-\u9fff々])|^)ー(?=[\u3400-\u9fff]|$)")
_ONE_AS_CHOONPU = re.compile(r"(?<=[ァ-ヴ])一(?=[ァ-ヴ]|$)")


def fold_label(s: str | None) -> str:
    """``clean`` for short labels (job titles, department names), plus ー/一 typed for each other
    (第ー営業部 -> 第一営業部, マ一ケティング -> マーケティング). None or blank -> ''."""
    folded = _KATAKANA_HYPHEN.sub("ー", clean(s) or "")
    return _ONE_AS_CHOONPU.sub("ー", _CHOONPU_AS_ONE.sub("一", folded))

# --- variant kanji ------------------------------------------------------------------------------

_MJ_COMBO = functools.reduce(operator.or_, list(jntajis.MJShrinkSchemeCombo))


def fold_variants(s: str | None, extra: Mapping[str, str] | None = None) -> str | None:
    """Old/variant kanji to their common form (髙→高, 﨑→崎, 齋→斎, 邊→辺) via jntajis's MJ shrink
    tables (all schemes), then the ``variant_kanji.yaml`` supplement. Idempotent."""
    if s is None:
        return None
    if s.isascii():
        return s
    try:
        s = unicodedata.normalize("NFC", s)  # compatibility ideographs (社 U+FA4C) → unified
        s = unicodedata.normalize("NFC", jntajis.mj_shrink_candidates(s, _MJ_COMBO)[0])  # sequences (IVS)
        return s.translate(_fold_table(extra))
    except Exception:
        return s


class _FoldTable(dict[int, str]):
    """``str.translate`` table of one character's fold (``_canon_char``, then the supplement ``extra``),
    filled on a character's first sight: one C-level pass per string instead of a Python loop."""

    def __init__(self, extra: Mapping[str, str] | None) -> None:
        super().__init__()
        self.extra = extra

    def __missing__(self, code: int) -> str:
        try:
            c = _canon_char(chr(code))
            if self.extra and c in self.extra:
                c = "".join(_canon_char(x) for x in self.extra[c])
        except LookupError as exc:  # translate would keep the character; fold_variants gives up instead
            raise RuntimeError(str(exc)) from exc
        self[code] = c
        return c


#: tables by the id of their supplement (held, so that the id stays its own)
_FOLD_TABLES: dict[int, _FoldTable] = {}


def _fold_table(extra: Mapping[str, str] | None) -> _FoldTable:
    table = _FOLD_TABLES.get(id(extra))
    if table is None or table.extra is not extra:
        if len(_FOLD_TABLES) >= 16:  # callers pass the rules' one or two mappings; never grow unbounded
            _FOLD_TABLES.clear()
        table = _FOLD_TABLES[id(extra)] = _FoldTable(extra)
    return table


@functools.lru_cache(maxsize=1 << 16)
def _canon_char(ch: str) -> str:
    """One character's end of its MJ shrink chain. jntajis's mappings chain (A → B → C) and some
    cycle, and it sometimes answers with a compatibility ideograph (敏 → U+FA41, which NFC undoes);
    the least member of a cycle represents it, so that folding is idempotent."""
    if ch.isascii() or not ("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch >= "\U00020000"):
        return ch
    seen = [ch]
    cur = ch
    for _ in range(8):
        nxt = unicodedata.normalize("NFC", jntajis.mj_shrink_candidates(cur, _MJ_COMBO)[0])
        if len(nxt) != 1 or nxt == cur:
            return nxt
        if nxt in seen:
            return min(seen[seen.index(nxt):])
        seen.append(nxt)
        cur = nxt
    return cur


# --- kana -----------------------------------------------------------------------------------

_KANA_ONLY = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u30fb\u309d\u309e\u30fd\u30fe ]+")


def is_kana(s: str | None) -> bool:
    """True when ``s`` is made only of hiragana/katakana (and spaces, ー, ・)."""
    if not s:
        return False
    return _KANA_ONLY.fullmatch(s) is not None and any(c != " " for c in s)


def to_katakana(s: str | None) -> str | None:
    """Hiragana → katakana (after NFKC, so half-width kana become full-width)."""
    if s is None:
        return None
    return jaconv.hira2kata(unicodedata.normalize("NFKC", s))


def to_hiragana(s: str | None) -> str | None:
    if s is None:
        return None
    return jaconv.kata2hira(unicodedata.normalize("NFKC", s))


# --- romaji ---------------------------------------------------------------------------------

# digraphs jaconv spells wrongly for Hepburn (ちぇ→chie); done before jaconv
_KANA_DIGRAPHS = {
    "ちぇ": "che", "しぇ": "she", "じぇ": "je", "てぃ": "ti", "でぃ": "di", "とぅ": "tu", "どぅ": "du",
    "うぃ": "wi", "うぇ": "we", "うぉ": "wo", "ふぃ": "fi", "ふぇ": "fe", "ふぉ": "fo", "ゔぁ": "va",
    "ゔぃ": "vi", "ゔぇ": "ve", "ゔぉ": "vo", "ゔ": "vu", "つぁ": "tsa", "ゐ": "i", "ゑ": "e", "を": "o",
}
_DIGRAPH_RE = re.compile("|".join(sorted(_KANA_DIGRAPHS, key=len, reverse=True)))
_SOKUON = re.compile(r"xtsu(?=([bcdfghjkmprstvwz]))")
_LONG_MARK = re.compile(r"([aeiou])[-ー]+")
_NON_ALNUM_SPACE = re.compile(r"[^a-z0-9 ]+")


def kana_to_romaji(kana: str | None) -> str:
    """Hepburn romaji of a kana string (jaconv, plus sokuon/ー/digraph fixes). Non-kana pass through."""
    if not kana:
        return ""
    try:
        h = jaconv.kata2hira(kana)
        h = _DIGRAPH_RE.sub(lambda m: _KANA_DIGRAPHS[m.group(0)], h)
        r = kana_alphabet(h)  # jaconv.kana2alphabet's result, in two passes instead of ~120
        r = _SOKUON.sub(lambda m: "t" if m.group(1) == "c" else m.group(1), r).replace("xtsu", "")
        if "-" in r or "ー" in r:  # a template sub costs even where nothing matches
            r = _LONG_MARK.sub(r"\1\1", r)  # スーパー → suupaa; folded later like any long vowel
        return r.replace("ー", "").replace("-", "").lower()
    except Exception:
        return ""


_KAKASI: Any = None
_KAKASI_LOCK = threading.Lock()


def _kakasi() -> Any:
    global _KAKASI
    if _KAKASI is None:
        with _KAKASI_LOCK:
            if _KAKASI is None:
                import pykakasi

                from abm.normalize import kanwa
                from abm.normalize.dictionaries import quiet_gc

                with quiet_gc():
                    kanwa.install()  # words decoded per first character, not the whole table up front
                    kks = pykakasi.Kakasi()
                _speed_up(kks)
                _hira_only(kks)
                _KAKASI = kks
    return _KAKASI


_SELF_TEST = ("山田電機株式会社", "髙橋一郎", "東海林", "日本電気", "さくら商事", "大阪市北区梅田", "打ち合わせ", "长")


def _speed_up(kks: Any) -> None:
    """Replace (on this instance only) pykakasi's dictionary lookup by an equivalent one.

    pykakasi finds the longest dictionary word at a position by scanning EVERY entry that starts
    with the current kanji (thousands for 山, 日, 大 …): ~100 µs per name. The same answer comes
    from probing the prefixes of the text, longest first, in the same table. The replacement is
    kept only when it gives the stock results on a self-test; on any surprise the stock one stays.
    """
    try:
        jconv = kks._jconv
        itaiji, kanwa, is_vs = jconv._itaiji, jconv._kanwa, jconv._is_vschr
        longest: dict[str, int] = {}

        def convert(itext: str, btext: str) -> tuple[str, int]:
            text = itaiji.convert(itext)
            num_vs = len(itext) - len(text)
            table = kanwa.load(text[0])
            if table is None:
                return "", 0
            top = longest.get(text[0])
            if top is None:
                top = longest[text[0]] = max((len(k) for k in table), default=0)
            hstr, max_len = "", 0
            for length in range(min(top, len(text)), 0, -1):
                for yomi, con in table.get(text[:length], ()):
                    if con is None or btext in con:
                        hstr, max_len = yomi, length
                        break
                if max_len:
                    break
            for _ in range(num_vs):  # as pykakasi: widen over variation selectors
                if max_len > len(itext):
                    break
                elif text[max_len - 1] != itext[max_len - 1]:
                    max_len += 1
                elif max_len < num_vs + len(text) and max_len <= len(itext) and is_vs(itext[max_len]):
                    max_len += 1
            return hstr, max_len

        stock = [kks.convert(s) for s in _SELF_TEST]
        jconv.convert = convert
        if [kks.convert(s) for s in _SELF_TEST] != stock:
            del jconv.convert
    except Exception:
        pass


def _segments(kks: Any, s: str) -> list[tuple[str, str]]:
    """What abm reads of pykakasi's answer: each segment's text and hiragana."""
    return [(item["orig"], item["hira"]) for item in kks.convert(s)]


def _hira_only(kks: Any) -> None:
    """Make pykakasi (this instance only) build just the segment fields abm reads.

    For every segment pykakasi also spells katakana, Hepburn, Kunrei and passport romaji — about a
    quarter of its time on a company name; abm reads only ``orig`` and ``hira`` (``reading``,
    ``segment_words``; romaji come from ``kana_to_romaji``). Kept only when the self-test gives the
    stock ``orig``/``hira``; ``tests/test_normalize_text.py`` compares them on arbitrary text."""
    try:
        iconv = kks._iconv
        k2h = iconv._k2h

        def convert(otext: str, hira: str) -> dict[str, str]:
            return {"orig": otext, "hira": k2h(hira)}

        stock = [_segments(kks, s) for s in _SELF_TEST]
        iconv.convert = convert
        if [_segments(kks, s) for s in _SELF_TEST] != stock:
            del iconv.convert
    except Exception:
        pass


#: names and readings longer than this are not names: only their head is read (pykakasi's cost grows
#: faster than the text, and a hostile megabyte-long "company name" must not stall the night)
MAX_READING_CHARS = 200


def segment_words(s: str) -> list[str]:
    """pykakasi's word segmentation of Japanese text (山田太郎 → 山田, 太郎); [] on failure."""
    try:
        return [item["orig"] for item in _kakasi().convert(s[:MAX_READING_CHARS]) if item["orig"].strip()]
    except Exception:
        return []


@functools.lru_cache(maxsize=1 << 18)
def reading(s: str) -> str:
    """Hiragana reading of Japanese text; Latin and digits are kept as they are.

    Uses pykakasi because it ships its own kanji dictionary (no MeCab/UniDic install, works offline
    and in CI) and gives the reading of common words and family names; its readings of rare names
    are guesses, so romaji keys are matching evidence, never identity. It is slow (~100 µs per
    name), hence the per-string cache and the per-unique-value application in ``records``.
    """
    try:
        s = fold_variants(s[:MAX_READING_CHARS]) or ""  # pykakasi has no reading for 髙, 﨑 …
        if s.isascii() or is_kana(s):
            return to_hiragana(s) or ""
        return _read(s)
    except Exception:
        return s


_READER: Callable[[str], str] | None = None


def _read(s: str) -> str:
    """``"".join(x["hira"] or x["orig"] for x in _kakasi().convert(s))``, at a third of the cost."""
    global _READER
    if _READER is None:
        _READER = checked_reader(_kakasi(), _SELF_TEST)
    return _READER(s)


@functools.lru_cache(maxsize=1 << 18)
def _romaji_cached(s: str) -> str:
    return _romaji(s)


def romaji(s: str | None) -> str:
    """Hepburn romaji (lower case, a-z0-9 and spaces) of kana/kanji/Latin text, not yet folded."""
    if not s:
        return ""
    return _romaji_cached(s[:MAX_READING_CHARS])


def _romaji(s: str | None) -> str:
    """Hepburn romaji (lower case, a-z0-9 and spaces) of kana/kanji/Latin text, not yet folded."""
    if not s:
        return ""
    try:
        text = clean(s, keep_spaces=True) or ""
        if not text.isascii():
            text = kana_to_romaji(reading(text))
        if not text.isascii():  # ASCII has no decomposition and no combining marks
            text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        return _SPACES.sub(" ", _NON_ALNUM_SPACE.sub("", text.lower().replace("'", ""))).strip()
    except Exception:
        return ""


def fold_romaji(token: str, folds: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    """Apply the long-vowel/spelling folds (Ohno/Oono/Ono → ono) until the token is stable."""
    anywhere = _any_fold(folds)
    for _ in range(8):
        # a pass where no pattern matches changes nothing: one search instead of a sub per fold
        # (most tokens need no fold, and every folded one ends with such a pass)
        if anywhere is not None and anywhere.search(token) is None:
            break
        before = token
        for pattern, repl in folds:
            token = pattern.sub(repl, token)
        if token == before:
            break
    return token


_T = TypeVar("_T")
_R = TypeVar("_R")


def by_identity(build: Callable[[_T], _R]) -> Callable[[_T], _R]:
    """``build`` memoised by the identity of its one argument — a rules table or tuple, which every
    caller passes as the same object: a look-up by value would hash the whole table on every name.
    The argument is held beside its result (so its id stays its own), and the memo is cleared past
    16 entries (never unbounded)."""
    memo: dict[int, tuple[_T, _R]] = {}

    @functools.wraps(build)
    def cached(arg: _T) -> _R:
        found = memo.get(id(arg))
        if found is not None and found[0] is arg:
            return found[1]
        if len(memo) >= 16:
            memo.clear()
        result = build(arg)
        memo[id(arg)] = (arg, result)
        return result
    return cached


@by_identity
def _any_fold(folds: tuple[tuple[re.Pattern[str], str], ...]) -> re.Pattern[str] | None:
    """One pattern that matches a text where any of ``folds``' patterns does (their alternation),
    or None when they cannot be combined so (different or verbose flags, groups that a backreference
    could name)."""
    flags = {p.flags for p, _ in folds}
    if not folds or len(flags) != 1 or next(iter(flags)) & re.VERBOSE \
            or any(p.groups or p.groupindex for p, _ in folds):
        return None
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p, _ in folds), flags.pop())
    except re.error:  # e.g. a global inline flag not at the start of the whole pattern
        return None
