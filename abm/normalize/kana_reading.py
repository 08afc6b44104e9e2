"""pykakasi's reading of a text as one string, without building its segment list.

``abm.normalize.text.reading`` wants ``"".join(seg["hira"] or seg["orig"] for seg in kks.convert(s))``.
``Kakasi.convert`` spends most of its time on bookkeeping abm throws away: an enum-valued state machine
that re-tests every character against five script predicates, a dict per segment, and a
character-by-character katakana → hiragana loop (``IConv._k2h``) over every segment. ``KanaReader``
walks the same state machine (same character classes, same actions, same dictionary lookups through
the instance's own ``_jconv.convert``, pykakasi's quirks included: an unknown kanji swallows the
character after it, a PUA or unclassified character re-emits the pending segment) and turns each
segment into hiragana with one ``str.translate`` where ``_k2h`` is a per-character map; text with
half-width kana (which ``_k2h`` reads in pairs, window by window) goes through ``_k2h`` itself.
``tests/test_normalize_kana_reading.py`` compares it with the stock answer on every company name of
the fixtures and on drawn text of every script.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# the character classes of pykakasi's convert loop; the first five are also its "previous type" values
_T_KANJI, _T_KANA, _T_HIRA, _T_SYM, _T_ALPHA = 1, 2, 3, 4, 5
_C_END, _C_LONG, _C_KANJI, _C_PUA, _C_OTHER = 10, 11, 12, 13, 14

#: what ``K2.convert_h`` (the ``_k2h`` of every segment) does to one character outside half-width kana:
#: katakana ァ..ヶ down to hiragana, the small historic katakana U+1B164..U+1B166 to their hiragana,
#: U+1B167 to ん; everything else (ヷ..ヿ, ー, kanji, Latin) stays
_K2H = {c: c - 0x60 for c in range(0x30A1, 0x30F7)} | {c: c - 0x14 for c in range(0x1B164, 0x1B167)} | {0x1B167: "ん"}
#: half-width kana: ``_k2h`` joins a voiced mark to the kana before it, inside 32-character windows
_HALF_KANA = re.compile("[\uff66-\uff9e]")


class KanaReader:
    """``read(s)`` == ``"".join(x["hira"] or x["orig"] for x in kks.convert(s))`` for one Kakasi."""

    def __init__(self, kks: Any) -> None:
        from pykakasi.kakasi import Ch
        from pykakasi.scripts import A2, H2, K2, Sym2

        self._kks = kks
        self._jconv = kks._jconv
        self._k2h = kks._iconv._k2h
        self._classes: dict[str, int] = {}
        self._end, self._long = Ch.endmark, Ch.long_symbols
        self._tests = ((K2.isRegion, _T_KANA), (H2.isRegion, _T_HIRA), (A2.isRegion, _T_ALPHA),
                       (Sym2.isRegion, _T_SYM), (self._jconv.isRegion, _C_KANJI))

    def _class(self, ch: str) -> int:
        """The branch of ``Kakasi.convert`` a character takes, tested in its order."""
        c = self._classes.get(ch)
        if c is None:
            c = self._classes[ch] = self._classify(ch)
        return c

    def _classify(self, ch: str) -> int:
        if ch in self._end:
            return _C_END
        if ch in self._long:
            return _C_LONG
        for test, cls in self._tests:
            if test(ch):
                return cls
        o = ord(ch)
        return _C_PUA if 0xF000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFD else _C_OTHER

    def _hira(self, orig: str, kana: str) -> str:
        """A segment's ``hira or orig``."""
        hira = self._k2h(kana) if _HALF_KANA.search(kana) else kana.translate(_K2H)
        return hira or orig

    def read(self, text: str) -> str:
        out: list[str] = []
        orig = kana = ""
        prev = _T_KANJI
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            c = self._class(ch)
            if c == _C_KANJI:
                if orig:
                    out.append(self._hira(orig, kana))
                yomi, length = self._jconv.convert(text[i:], orig)
                prev = _T_KANJI
                if length > 0:
                    orig, kana = text[i:i + length], yomi
                    i += length
                else:  # unknown kanji: pykakasi emits it as written and skips the NEXT character too
                    out.append(ch)
                    orig = kana = ""
                    i += 2
                continue
            if c == _C_LONG:  # follows the segment before, whatever its type
                orig, kana = orig + ch, kana + ch
            elif c in (_T_KANA, _T_HIRA, _T_ALPHA) and c == prev:
                orig, kana = orig + ch, kana + ch
            elif c == _T_SYM and prev == _T_SYM:
                if orig:
                    out.append(self._hira(orig, kana))
                out.append(self._hira(ch, ch))
                orig = kana = ""
            elif c in (_C_PUA, _C_OTHER):  # the pending segment is emitted and stays pending
                if orig:
                    out.append(self._hira(orig, kana))
                if c == _C_PUA:
                    prev = _T_SYM
                else:
                    out.append(ch)
            else:  # a new segment starts: end marks, a change of script, a first symbol
                if orig:
                    out.append(self._hira(orig, kana))
                orig = kana = ch
                prev = _T_SYM if c == _C_END else c
            i += 1
        if orig:
            out.append(self._hira(orig, kana))
        return "".join(out)


#: cases for ``checked_reader`` beyond the caller's: every branch of pykakasi's loop (half-width kana,
#: symbols in a row, end marks, PUA, an unknown "kanji" (Hangul), long marks after kanji)
READ_TEST = ("ｶﾞｰﾃﾞﾝ・ホーム", "Ａ＆Ｂ（株）!!、。", "\ue000山田\uac00鈴木", "ヴァイオリン々ヶ丘", "東京ー", "打ち合わせ")


def stock_read(kks: Any, s: str) -> str:
    """The reading as pykakasi's segments give it: each segment's hiragana, or its text when it has none."""
    return "".join(item["hira"] or item["orig"] for item in kks.convert(s))


def checked_reader(kks: Any, samples: tuple[str, ...]) -> Callable[[str], str]:
    """``KanaReader(kks).read`` when it gives ``stock_read``'s answers on ``samples`` and ``READ_TEST``
    (a pykakasi release that changes its loop must not change abm's readings silently), else the stock."""
    fast = KanaReader(kks)
    cases = (*samples, *READ_TEST)
    if [fast.read(x) for x in cases] == [stock_read(kks, x) for x in cases]:
        return fast.read
    return lambda s: stock_read(kks, s)


# --- jaconv.kana2alphabet in one pass -----------------------------------------------------------

#: jaconv 0.5's ``kana2alphabet`` replaces these pairs, then these single kana, one ``str.replace``
#: after another (~120 passes over the text), then translates the rest (KANA2HEP) and doubles the
#: consonant after っ. No pair overlaps another (a pair's second kana is small, never a first one) and
#: every replacement is ASCII, which no later replacement reads: so one leftmost pass over the pairs,
#: then one ``str.translate``, gives the same text (``tests/test_normalize_kana_reading.py`` checks it
#: against jaconv on every string of up to two kana and on drawn text)
_PAIRS = dict(x.split("=") for x in (
    "きゃ=kya きゅ=kyu きょ=kyo ぎゃ=gya ぎゅ=gyu ぎょ=gyo しゃ=sha しゅ=shu しょ=sho じゃ=ja じゅ=ju じょ=jo "
    "ちゃ=cha ちゅ=chu ちょ=cho にゃ=nya にゅ=nyu にょ=nyo ひゃ=hya ひゅ=hyu ひょ=hyo ふぁ=fa ふぃ=fi ふぇ=fe "
    "ふぉ=fo みゃ=mya みゅ=myu みょ=myo りゃ=rya りゅ=ryu りょ=ryo びゃ=bya びゅ=byu びょ=byo ぴゃ=pya "
    "ぴゅ=pyu ぴょ=pyo ゔぁ=va ゔぃ=vi ゔぅ=vuu ゔぇ=ve ゔぉ=vo").split())
_SINGLES = dict(x.split("=") for x in (
    "が=ga ぎ=gi ぐ=gu げ=ge ご=go ざ=za じ=ji ず=zu ぜ=ze ぞ=zo だ=da ぢ=ji づ=zu で=de ど=do ば=ba び=bi "
    "ぶ=bu べ=be ぼ=bo ぱ=pa ぴ=pi ぷ=pu ぺ=pe ぽ=po か=ka き=ki く=ku け=ke こ=ko さ=sa し=shi す=su せ=se "
    "そ=so た=ta ち=chi つ=tsu て=te と=to な=na に=ni ぬ=nu ね=ne の=no は=ha ひ=hi ふ=fu へ=he ほ=ho "
    "ま=ma み=mi む=mu め=me も=mo ら=ra り=ri る=ru れ=re ろ=ro や=ya ゆ=yu よ=yo わ=wa ゐ=wi を=wo ゑ=we "
    "ゃ=ya ゅ=yu ょ=yo ぁ=a ぃ=i ぅ=u ぇ=e ぉ=o ゎ=wa ゔ=vu ヵ=ka "
    # jaconv's KANA2HEP, for what the replacements left
    "あ=a い=i う=u え=e お=o ん=n 〜=~ ー=-").split())
_SINGLE_TABLE = str.maketrans(_SINGLES)
_PAIR_RE = re.compile("|".join(_PAIRS))
_PAIR_HEADS = frozenset(p[0] for p in _PAIRS)
_TSU = re.compile("っ")


def _sokuon(m: re.Match[str]) -> str:
    """jaconv's っ: the next character doubled, ``xtsu`` first, last or before another っ."""
    nxt = m.string[m.end():m.end() + 1]
    return "xtsu" if m.start() == 0 or nxt in ("", "っ") else nxt


def kana_alphabet(text: str) -> str:
    """``jaconv.kana2alphabet(text)`` (Hiragana to roman-input letters), in two passes."""
    if not _PAIR_HEADS.isdisjoint(text):
        text = _PAIR_RE.sub(lambda m: _PAIRS[m.group(0)], text)
    text = text.translate(_SINGLE_TABLE)
    return _TSU.sub(_sokuon, text) if "っ" in text else text
