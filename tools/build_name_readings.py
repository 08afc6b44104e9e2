"""Build ``rules/name_readings.tsv.xz``: the readings of kanji person names, from JMnedict.

JMnedict (Japanese proper names, the Electronic Dictionary Research and Development Group, CC BY-SA
4.0; https://www.edrdg.org/enamdict/enamdict_doc.html) gives every recorded reading of a name: 健
is Ken, Takeshi, Tsuyoshi … abm compares a Latin or kana person name against all of them
(``abm.normalize.name_readings``). The whole dictionary is 54 MB to download and 300 MB installed
(the ``jamdict-data`` package); the part abm reads — kanji of surnames and given names and their
readings — is about 2 MB compressed, so it is extracted once into the repository and read offline.

    python tools/build_name_readings.py JMnedict.xml.gz      # the EDRDG download (current)
    python tools/build_name_readings.py path/to/jamdict.db   # jamdict-data's SQLite (April 2021)

Output lines (UTF-8, xz): ``f`` (family) or ``g`` (given), TAB, the kanji, TAB, readings in katakana
separated by spaces, in the dictionary's order, at most ``MAX_READINGS``. A rebuilt table changes
the rules fingerprint, so value caches start afresh.
"""

from __future__ import annotations

import gzip
import lzma
import sqlite3
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "rules" / "name_readings.tsv.xz"
#: JMnedict name types per name part (``unclass``: a person's name not known to be either)
FAMILY_TYPES = frozenset({"surname", "unclass"})
GIVEN_TYPES = frozenset({"given", "masc", "fem", "unclass"})
MAX_READINGS = 16
MAX_CHARS = 6   # longer "names" are not one name part


def _katakana(s: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in s)


#: JMnedict's DTD expands its type entities (&surname;) to descriptions; the type of each
DESCRIPTIONS = (("female given", "fem"), ("male given", "masc"), ("surname", "surname"),
                ("unclassified", "unclass"), ("given name", "given"))


def name_type(text: str) -> str:
    """The JMnedict type of a <name_type> text: the entity name, or its expanded description."""
    text = text.strip().strip("&;")
    for words, kind in DESCRIPTIONS:
        if words in text:
            return kind
    return text


def _from_xml(path: Path) -> Iterator[tuple[str, str, str]]:
    """(kanji, reading, type) from JMnedict.xml(.gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for _, el in ET.iterparse(f):
            if el.tag != "entry":
                continue
            kanji = [k.text for k in el.iter("keb") if k.text]
            readings = [r.text for r in el.iter("reb") if r.text]
            types = [name_type(t.text) for t in el.iter("name_type") if t.text]
            for k in kanji:
                for r in readings:
                    for t in types:
                        yield k, r, t
            el.clear()


def _from_sqlite(path: Path) -> Iterator[tuple[str, str, str]]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    yield from con.execute(
        "SELECT k.text, n.text, tt.text FROM NEKanji k JOIN NEKana n ON n.idseq = k.idseq "
        "JOIN NETranslation t ON t.idseq = k.idseq JOIN NETransType tt ON tt.tid = t.ID "
        "ORDER BY k.idseq, n.ID")


def table(rows: Iterator[tuple[str, str, str]]) -> str:
    """The TSV text of (kanji, reading, type) rows."""
    parts: dict[str, dict[str, dict[str, None]]] = {"f": {}, "g": {}}
    for kanji, reading, kind in rows:
        if not kanji or len(kanji) > MAX_CHARS or any(c.isspace() for c in kanji):
            continue
        for part, types in (("f", FAMILY_TYPES), ("g", GIVEN_TYPES)):
            if kind in types:
                parts[part].setdefault(kanji, {})[_katakana(reading)] = None
    return "".join(f"{part}\t{kanji}\t{' '.join(list(readings)[:MAX_READINGS])}\n"
                   for part in ("f", "g") for kanji, readings in sorted(parts[part].items()))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write(__doc__ or "")
        return 2
    source = Path(argv[0])
    rows = _from_sqlite(source) if source.suffix == ".db" else _from_xml(source)
    OUT.write_bytes(lzma.compress(table(rows).encode("utf-8"), preset=9 | lzma.PRESET_EXTREME))
    sys.stderr.write(f"{OUT}: {OUT.stat().st_size:,} bytes\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
