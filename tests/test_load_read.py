"""abm.load.read: the delimited-text reader's shortcut for UTF-8 files gives what the general path gives."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.errors import InputError
from abm.load.decode import utf8_first_line
from abm.load.fast_path import _fast_swallow_check, _inner_counts, swallows_rows
from abm.load.read import _fast_path, _first_line, read_delimited, sniff_delimiter, text_body, utf8_body

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


def _old_inner(df: pl.DataFrame, delimiter: str) -> tuple[int, int]:
    """The counts as first written: every cell counted alone."""
    return df.select(
        pl.sum_horizontal(pl.all().fill_null("").str.count_matches(delimiter, literal=True)).sum().alias("d"),
        pl.sum_horizontal(pl.all().fill_null("").str.count_matches("\n", literal=True)).sum().alias("n"),
    ).row(0)


def _old_swallow(df: pl.DataFrame, delimiter: str) -> bool:
    """The check as first written: ``swallows_rows`` on each value holding a newline, in Python."""
    return any(swallows_rows([v], df.width, delimiter)
               for col in df.columns for v in df.get_column(col).drop_nulls().to_list() if "\n" in v)


_CELL = st.text(alphabet=st.sampled_from(',;|\t"\n\r\x0b\x0c\x1c\x85\u2028\u2029ab山 '), max_size=12)


@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"])
@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.lists(_CELL | st.none(), min_size=1, max_size=4), min_size=1, max_size=5), data=st.data())
def test_inner_counts_and_swallow_check_equal_the_cell_by_cell_ones(delimiter, cells, data):
    width = data.draw(st.integers(1, 4))
    rows = [(r * width)[:width] for r in cells]
    df = pl.DataFrame({f"c{i}": [r[i] for r in rows] for i in range(width)}, schema={f"c{i}": pl.Utf8 for i in range(width)})
    assert _inner_counts(df, delimiter, b'"') == _old_inner(df, delimiter)
    assert _fast_swallow_check(df, delimiter) == _old_swallow(df, delimiter)


@pytest.mark.parametrize(("raw", "quoted"), [(b"a,b\nc,d\n", False), (b'a,"b,\nx"\nc,d\n', True)])
def test_a_file_without_quotes_has_nothing_inside_its_values(raw, quoted):
    table = _fast_path(raw, ",")
    assert table is not None and table.frame.height == 1 + quoted * 0
    assert _inner_counts(pl.read_csv(raw, has_header=False, infer_schema=False), ",", raw)[1] == quoted


@settings(max_examples=120, deadline=None)
@given(_TEXT)
def test_first_line_sniffs_as_the_body_first_line(text):
    text = text.lstrip("\r\n")
    if not text or text.isspace():
        return
    body = text_body(text)
    assert sniff_delimiter(_first_line(text)) == sniff_delimiter(body[: body.find("\n")])


@pytest.mark.parametrize(("values", "width", "swallows"), [
    (["x\na,b,c"], 3, True),          # a whole row's delimiters on a later line
    (["a,b,c\nx"], 3, False),         # on the first line only: a value may hold commas
    (["x\r\na,b\r\nc"], 3, False),    # two delimiters, but on two lines
    (["x\u2028a,b,c"], 3, False),     # no newline in the value: not checked
    (["x\n\u2028a,b,c"], 3, True),    # U+2028 ends a line as str.splitlines says
    (["x\na,b,c"], 1, False),         # one column: nothing to swallow
])
def test_swallow_check_cases(values, width, swallows):
    df = pl.DataFrame({f"c{i}": values for i in range(width)})
    assert _fast_swallow_check(df, ",") is swallows is _old_swallow(df, ",")


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_first_line_of_utf8_bytes_is_that_of_the_text(text):
    """The detected-UTF-8 path reads the header line (or finds the file blank) from the bytes."""
    stripped = text.lstrip("\r\n")
    blank = not stripped or stripped.isspace()
    assert utf8_first_line(text.encode("utf-8")) == (None if blank else _first_line(stripped))


@pytest.mark.parametrize("data", [b"a,b\n1,2\n", "\ufeff名前,会社\n山田,日本\n".encode(), b"\r\n\r\n",
                                  "\u3000\n \u3000".encode(), "\u3000x,y\n".encode(), "山".encode("cp932"),
                                  b"\xef\xbb\xbf" + "山".encode("cp932"), b"\xed\xa0\x80a", b"", b"\x1b$B"])
def test_plain_utf8_is_what_decode_finds(data):
    from abm.load.decode import decode, plain_utf8

    try:
        used = decode(data, "x.csv")[1]
    except InputError:
        used = None
    assert plain_utf8(data, "x.csv") == (used if used in ("utf-8", "utf-8-sig") else None)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=24) | _TEXT.map(lambda t: t.encode("utf-8")), st.booleans())
def test_plain_utf8_validates_as_python_does(data, bom):
    from abm.load.decode import plain_utf8

    data = (b"\xef\xbb\xbf" if bom else b"") + data.replace(b"\x1b", b"").replace(b"\x00", b"")
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"PK\x03\x04", b"\x1f\x8b", b"PAR1", b"\xd0\xcf\x11\xe0", b"%PDF")):
        return
    try:
        (data[3:] if bom else data).decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert (plain_utf8(data, "x.csv") is not None) == valid
