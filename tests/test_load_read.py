"""abm.load.read: the delimited-text reader's shortcut for UTF-8 files gives what the general path gives."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from abm.errors import InputError
from abm.load.read import read_delimited, utf8_body

_TEXT = st.text(alphabet=st.sampled_from('ab,;\t"\r\n 山田ｱ\x00\u3000\u2028\x85') | st.characters(exclude_categories=("Cs",)), max_size=60)


@settings(max_examples=120, deadline=None)
@given(_TEXT)
def test_utf8_body_is_the_text_body_encoded(text):
    assert utf8_body(text.encode("utf-8")) == (text.lstrip("\r\n").rstrip("\r\n") + "\n").encode("utf-8")
    assert (not text.strip()) == (not text or text.isspace())


def _table(data: bytes, encoding: str | None):
    try:
        t = read_delimited(Path("x.csv"), "x.csv", encoding=encoding, data=data)
    except InputError as exc:
        return type(exc), None
    return (t.header, t.notes, t.issues, t.rows_read, t.delimiter), t.frame


@settings(max_examples=120, deadline=None)
@given(st.lists(st.lists(_TEXT.filter(lambda s: "\x00" not in s), min_size=1, max_size=4), min_size=1, max_size=6),
       st.booleans(), st.sampled_from(["\n", "\r\n"]))
def test_detected_utf8_reads_like_the_general_path(rows, bom, eol):
    """A detected UTF-8 file (the parser reads its bytes) gives the table that the same file read
    as named UTF-8 gives (the parser reads the decoded text encoded again)."""
    body = eol.join(",".join(f'"{v}"' if any(c in v for c in ',"\r\n') else v for v in row) for row in rows)
    data = body.encode("utf-8")
    detected = _table((b"\xef\xbb\xbf" if bom else b"") + data, None)
    if detected[0] is InputError or detected[0][1]:   # refused as binary, or noted (a decoding note)
        return
    named = _table(data, "utf-8")
    assert detected[0][0] == named[0][0] and detected[0][2:4] == named[0][2:4]
    assert detected[1].equals(named[1])
