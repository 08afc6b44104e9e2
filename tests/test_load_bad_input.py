"""Bad input never loses a row: each case asserts the exact outcome (rows loaded / quarantined with
reason codes, or the InputError text naming file, row and column)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.errors import InputError
from abm.load import load_inputs
from abm.rules import load_rules

RULES = load_rules(validate=False)
CARD_HEADER = "card_id,company_name,family_name,given_name,exchanged_on,owner_name,owner_department"


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


def load(tmp_path: Path, files: dict[str, str | bytes]):
    return load_inputs(write(tmp_path / "in", files), RULES)


def codes(loaded) -> list[tuple[int, str]]:
    return [(n, r.split(":", 1)[0]) for n, r in loaded.quarantine.select("row_number", "reason").iter_rows()]


def stats(loaded, name: str) -> dict:
    return next(f for f in loaded.files if f["path"] == name)


def cards(loaded) -> list[dict]:
    return loaded.tables["cards"].sort("source_file", "row_number").rows(named=True)


def csv_rows(*rows: str, header: str = CARD_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


# --- encodings ---------------------------------------------------------------------------------


def test_cp932_with_nec_ibm_extended_chars(tmp_path):
    text = csv_rows("C1,㈱サンプル①～Ⅱ,髙橋,﨑子,2025/01/05,佐藤,営業1部")
    loaded = load(tmp_path, {"cards.csv": text.encode("cp932")})
    assert cards(loaded)[0]["company_name"] == "㈱サンプル①～Ⅱ"
    assert cards(loaded)[0]["family_name"] == "髙橋"
    assert stats(loaded, "cards.csv")["encoding"] == "cp932"


def test_utf8_bom_and_tsv(tmp_path):
    text = csv_rows(
        "C1\t株式会社A, 本社\t山田\t太郎\t2025-01-05\t佐藤\t営業部", header=CARD_HEADER.replace(",", "\t")
    )
    loaded = load(tmp_path, {"cards.tsv": b"\xef\xbb\xbf" + text.encode()})
    s = stats(loaded, "cards.tsv")
    assert (s["encoding"], s["delimiter"], s["rows_loaded"]) == ("utf-8-sig", "\t", 1)
    assert cards(loaded)[0]["card_id"] == "C1" and cards(loaded)[0]["company_name"] == "株式会社A, 本社"


def test_utf16_excel_unicode_text(tmp_path):
    text = csv_rows("C1\tA社\t山田\t太郎\t2025-01-05\t\t", header=CARD_HEADER.replace(",", "\t"))
    loaded = load(tmp_path, {"cards.txt": text.encode("utf-16")})
    assert stats(loaded, "cards.txt")["encoding"] == "utf-16" and cards(loaded)[0]["company_name"] == "A社"


def test_mixed_utf8_and_cp932_lines_are_decoded_per_line(tmp_path):
    data = csv_rows("C1,株式会社東京,山田,太郎,2025-01-05,,").encode(
        "utf-8"
    ) + "C2,株式会社大阪,鈴木,花子,2025-01-06,,\n".encode("cp932")
    loaded = load(tmp_path, {"cards.csv": data})
    assert [r["company_name"] for r in cards(loaded)] == ["株式会社東京", "株式会社大阪"]
    s = stats(loaded, "cards.csv")
    assert s["encoding"] == "mixed(utf-8+cp932)" and "1 as CP932" in s["notes"][0]


def test_undecodable_file_names_file_and_line(tmp_path):
    data = csv_rows("C1,A,B,C,2025-01-05,,").encode() + b"C2,\x85\x40,x,y,,,\n"
    with pytest.raises(InputError) as err:
        load(tmp_path, {"cards.csv": data})
    assert err.value.message() == (
        "Cannot use input (file cards.csv, row 2): line 3 (byte 110) is neither UTF-8 nor CP932/Shift_JIS. "
        "To fix this, save the file as UTF-8, or name its encoding in sources.yaml (encoding: …)."
    )


def test_wrong_encoding_in_sources_yaml(tmp_path):
    files = {
        "cards.csv": csv_rows("C1,株式会社A,山田,太郎,,,").encode("utf-8"),
        "sources.yaml": "cards.csv:\n  encoding: ascii\n",
    }
    with pytest.raises(
        InputError, match=r"file cards.csv\): the file is not valid ascii as sources.yaml says"
    ):
        load(tmp_path, files)


def test_nul_bytes_are_stripped_and_counted(tmp_path):
    loaded = load(tmp_path, {"cards.csv": csv_rows("C1,A\x00社,山\x00田,太郎,,,")})
    assert cards(loaded)[0]["company_name"] == "A社" and cards(loaded)[0]["family_name"] == "山田"
    assert stats(loaded, "cards.csv")["field_issues"]["nul_bytes"] == 2


# --- file-level problems -------------------------------------------------------------------------


def test_unknown_layout_raises_with_fix(tmp_path):
    with pytest.raises(InputError) as err:
        load(tmp_path, {"export.csv": "foo,bar\n1,2\n"})
    msg = err.value.message()
    assert msg.startswith(
        "Cannot use input (file export.csv): unknown layout: the header (foo, bar) fits no vendor"
    )
    assert "name the file <kind>_….csv" in msg and "sources.yaml" in msg


def test_missing_id_column_names_the_column(tmp_path):
    with pytest.raises(InputError) as err:
        load(tmp_path, {"crm_contacts_2025.csv": "family_name,email\n山田,a@b.example\n"})
    assert err.value.column == "contact_id"
    assert err.value.message().startswith(
        "Cannot use input (file crm_contacts_2025.csv, column 'contact_id'): the id column contact_id is missing"
    )


def test_ambiguous_header_is_an_error(tmp_path):
    with pytest.raises(
        InputError,
        match="fits several layouts equally well: marketo_lead \\(ma_leads\\), "
        "canonical \\(crm_leads\\), canonical \\(ma_leads\\)",
    ):
        load(tmp_path, {"export.csv": "lead_id,email,company_name\nL1,a@b.example,A\n"})


def test_xls_workbook_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"file cards.xls\): .xls workbooks cannot be read"):
        load(tmp_path, {"cards.xls": b"\xd0\xcf\x11\xe0"})


def test_empty_and_header_only_files_are_noted_not_errors(tmp_path):
    loaded = load(
        tmp_path, {"cards_empty.csv": b"", "cards_head.csv": CARD_HEADER + "\n", "mystery.csv": b"\n\n"}
    )
    assert stats(loaded, "cards_empty.csv")["notes"] == ["empty file"]
    assert stats(loaded, "cards_head.csv")["notes"] == ["header only: no data rows"]
    assert stats(loaded, "mystery.csv")["rows_read"] == 0
    assert loaded.tables["cards"].height == 0 and loaded.quarantine.height == 0


def test_skipped_and_ignored_entries_are_listed(tmp_path):
    loaded = load(
        tmp_path,
        {
            "cards.csv": csv_rows("C1,A,B,C,,,"),
            "notes.json": "{}",
            "README.md": "x",
            "truth/persons.csv": "x\n",
            "sources.yaml": "",
            ".hidden.csv": "junk",
        },
    )
    skipped = {f["path"]: f["skipped"] for f in loaded.files if "skipped" in f}
    assert skipped == {
        "README.md": "documentation",
        "truth": "ground truth directory, not input",
        "notes.json": "unsupported file type .json; abm reads .csv, .parquet, .tsv, .txt, .xlsm, .xlsx, .zip, .csv.gz",
    }


# --- rows ----------------------------------------------------------------------------------------


def test_blank_and_duplicate_ids(tmp_path):
    loaded = load(
        tmp_path,
        {
            "cards.csv": csv_rows(
                "C1,A,山田,太郎,,,", " ,A,鈴木,花子,,,", "C1,A,山田,太郎,,,", "C1,B,山田,太郎,,,"
            )
        },
    )
    assert [r["card_id"] for r in cards(loaded)] == ["C1"]
    assert cards(loaded)[0]["company_name"] == "A"
    assert loaded.quarantine.get_column("reason").to_list() == [
        "missing_id: card_id is blank",
        "duplicate_row: card_id C1 already at cards.csv row 1",
        "duplicate_id: card_id C1 already at cards.csv row 1",
    ]
    raw = json.loads(loaded.quarantine.get_column("raw")[2])
    assert raw["company_name"] == "B" and raw["card_id"] == "C1"


def test_duplicate_across_files_keeps_the_same_row_whatever_the_file_order(tmp_path):
    a = load(
        tmp_path / "a",
        {"cards_1.csv": csv_rows("C1,Zeta,山田,太郎,,,"), "cards_2.csv": csv_rows("C1,Alpha,山田,太郎,,,")},
    )
    b = load(
        tmp_path / "b",
        {"cards_1.csv": csv_rows("C1,Alpha,山田,太郎,,,"), "cards_2.csv": csv_rows("C1,Zeta,山田,太郎,,,")},
    )
    assert cards(a)[0]["company_name"] == cards(b)[0]["company_name"] == "Alpha"
    assert codes(a) == codes(b) == [(1, "duplicate_id")]


def test_ragged_rows_are_quarantined_others_load(tmp_path):
    loaded = load(
        tmp_path,
        {"cards.csv": csv_rows("C1,A,山田,太郎,,,", "C2,A,short", "C3,A,山田,太郎,,,,extra", "C4,A,x,y,,,")},
    )
    assert [r["card_id"] for r in cards(loaded)] == ["C1", "C4"]
    assert [r["row_number"] for r in cards(loaded)] == [1, 4]
    assert loaded.quarantine.get_column("reason").to_list() == [
        "ragged_row: 3 fields, expected 7 (line 3)",
        "ragged_row: 8 fields, expected 7 (line 4)",
    ]
    assert json.loads(loaded.quarantine.get_column("raw")[1])["_extra"] == ["extra"]


def test_unbalanced_quote_at_end_does_not_swallow_rows(tmp_path):
    loaded = load(
        tmp_path, {"cards.csv": csv_rows('C1,"株式会社A,山田,太郎,,,', "C2,B,鈴木,花子,,,", "C3,C,x,y,,,")}
    )
    assert [r["card_id"] for r in cards(loaded)] == ["C2", "C3"]
    assert codes(loaded) == [(1, "unbalanced_quote")]
    assert json.loads(loaded.quarantine.get_column("raw")[0]) == {"_line": 'C1,"株式会社A,山田,太郎,,,'}


def test_stray_quote_pair_in_the_middle_recovers_the_rows_between(tmp_path):
    loaded = load(
        tmp_path,
        {"cards.csv": csv_rows('C1,"A,山田,太郎,,,', "C2,B,鈴木,花子,,,", 'C3,C",x,y,,,', "C4,D,x,y,,,")},
    )
    assert [(r["card_id"], r["company_name"]) for r in cards(loaded)] == [
        ("C2", "B"),
        ("C3", 'C"'),
        ("C4", "D"),
    ]
    assert codes(loaded) == [(1, "unbalanced_quote")]
    assert "swallows whole rows" in loaded.quarantine["reason"][0]


def test_malformed_quoting_is_quarantined(tmp_path):
    loaded = load(tmp_path, {"cards.csv": csv_rows('C1,"A"B,山田,太郎,,,', "C2,B,鈴木,花子,,,")})
    assert [r["card_id"] for r in cards(loaded)] == ["C2"]
    assert codes(loaded) == [(1, "bad_quoting")]


def test_embedded_newlines_keep_record_ordinals(tmp_path):
    loaded = load(
        tmp_path,
        {"cards.csv": csv_rows('C1,"株式会社A\n本社",山田,太郎,,,', 'C2,"B\r\n\r\nC",x,y,,,', "C3,D,x,y,,,")},
    )
    rows = cards(loaded)
    assert [(r["card_id"], r["row_number"]) for r in rows] == [("C1", 1), ("C2", 2), ("C3", 3)]
    assert rows[0]["company_name"] == "株式会社A\n本社"


def test_blank_lines_and_bare_cr_line_ends(tmp_path):
    loaded = load(
        tmp_path,
        {
            "cards_a.csv": csv_rows("C1,A,x,y,,,", "", "C2,B,x,y,,,"),
            "cards_b.csv": csv_rows("C3,A,x,y,,,", "C4,B,x,y,,,").replace("\n", "\r"),
        },
    )
    assert [(r["card_id"], r["row_number"]) for r in cards(loaded)] == [
        ("C1", 1),
        ("C2", 2),
        ("C3", 1),
        ("C4", 2),
    ]
    assert stats(loaded, "cards_a.csv")["notes"] == ["1 blank lines skipped"]


def test_one_megabyte_field(tmp_path):
    big = "あ" * 1_000_000
    loaded = load(tmp_path, {"cards.csv": csv_rows(f'C1,"{big}",山田,太郎,,,', "C2,B,x,y,,,")})
    assert len(cards(loaded)[0]["company_name"]) == 1_000_000 and loaded.tables["cards"].height == 2


def test_one_megabyte_field_in_a_quarantined_row_is_truncated_in_raw(tmp_path):
    loaded = load(tmp_path, {"cards.csv": csv_rows(f'C1,"{"x" * 1_000_000}",short')})
    raw = loaded.quarantine.get_column("raw")[0]
    assert len(raw) < 9000 and "[+999000 chars]" in raw


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2025-01-05", "2025-01-05"),
        ("2025/1/5", "2025-01-05"),
        ("2025.01.05", "2025-01-05"),
        ("2025年1月5日", "2025-01-05"),
        ("２０２５／０１／０５", "2025-01-05"),
        ("20250105", "2025-01-05"),
        ("1/5/2025", "2025-01-05"),
        ("2025-01-05T23:59:59.000Z", "2025-01-05"),
        ("2025/01/05 10:00", "2025-01-05"),
        ("令和7年1月5日", "2025-01-05"),
        ("平成元年1月8日", "1989-01-08"),
    ],
)
def test_date_formats(tmp_path, value, expected):
    loaded = load(tmp_path, {"cards.csv": csv_rows(f"C1,A,x,y,{value},,")})
    assert cards(loaded)[0]["exchanged_on"] == expected
    assert stats(loaded, "cards.csv")["field_issues"].get("bad_date:exchanged_on") is None


def test_impossible_dates_become_null_counted_rows_kept(tmp_path):
    loaded = load(
        tmp_path,
        {
            "cards.csv": csv_rows(
                "C1,A,x,y,2025-02-30,,",
                "C2,A,x,y,2025-13-01,,",
                "C3,A,x,y,soon,,",
                "C4,A,x,y,0001-01-01,,",
                "C5,A,x,y,2024-02-29,,",
            )
        },
    )
    assert [r["exchanged_on"] for r in cards(loaded)] == [None, None, None, None, "2024-02-29"]
    assert stats(loaded, "cards.csv")["field_issues"]["bad_date:exchanged_on"] == 4


def test_amounts_and_is_closed_variants_stay_strings(tmp_path):
    header = "opportunity_id,amount,is_closed,created_on"
    values = [("¥1,200,000", "TRUE"), ("１２００円", "0"), ("1.2e6", "はい"), ("-", "closed")]
    text = csv_rows(*[f'O{i},"{a}",{c},2025-01-01' for i, (a, c) in enumerate(values)], header=header)
    rows = load(tmp_path, {"crm_opportunities.csv": text}).tables["crm_opportunities"].sort("row_number")
    assert list(zip(rows["amount"], rows["is_closed"], strict=True)) == values


def test_dangling_references_are_kept(tmp_path):
    loaded = load(
        tmp_path,
        {
            "crm_contacts.csv": "contact_id,account_id,family_name\nK1,NOPE,山田\n",
            "ma_activities.csv": "activity_id,lead_id,activity_on,activity_type\nA1,L404,2025-01-01,web\n",
        },
    )
    assert loaded.tables["crm_contacts"]["account_id"].to_list() == ["NOPE"]
    assert loaded.tables["ma_activities"]["lead_id"].to_list() == ["L404"]
    assert loaded.quarantine.height == 0


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("http://evil.example","x")',
        "+cmd|' /C calc'!A0",
        "-1+1",
        "@SUM(A1)",
        "<script>alert(1)</script>",
        "<b>山田</b>",
        "\tTab",
    ],
)
def test_injection_strings_are_data(tmp_path, name):
    escaped = '"' + name.replace('"', '""') + '"'
    loaded = load(tmp_path, {"cards.csv": csv_rows(f"C1,{escaped},{escaped},y,,,")})
    assert cards(loaded)[0]["company_name"] == name.strip()


def test_ten_thousand_rows_of_the_same_person(tmp_path):
    text = csv_rows(*[f"C{i},株式会社A,山田,太郎,2025-01-05,佐藤,営業部" for i in range(10_000)])
    loaded = load(tmp_path, {"cards.csv": text})
    assert loaded.tables["cards"].height == 10_000 and loaded.quarantine.height == 0


def test_xlsx_every_fitting_sheet_or_named_sheet(tmp_path):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(CARD_HEADER.split(","))
    ws.append(["C1", "A社", "山田", "太郎", dt.datetime(2025, 1, 5), "佐藤", None])
    ws.append([None] * 7)
    ws.append([101, "B社", "鈴木", "花子", "2025/01/06", None, None])
    other = wb.create_sheet("second")
    other.append(CARD_HEADER.split(","))
    other.append(["C9", "Z社", "x", "y", None, None, None])
    folder = tmp_path / "in"
    folder.mkdir()
    wb.save(folder / "cards.xlsx")
    loaded = load_inputs(folder, RULES)
    assert [(r["card_id"], r["exchanged_on"], r["row_number"]) for r in cards(loaded)] == [
        ("C1", "2025-01-05", 1),
        ("101", "2025-01-06", 2),
        ("C9", None, 3),  # every sheet whose header fits is read; row numbers run on
    ]
    (folder / "sources.yaml").write_text("cards.xlsx:\n  sheet: second\n", encoding="utf-8")
    assert [r["card_id"] for r in cards(load_inputs(folder, RULES))] == ["C9"]


def test_parquet_with_typed_columns(tmp_path):
    import datetime as dt

    folder = tmp_path / "in"
    folder.mkdir()
    pl.DataFrame(
        {
            "opportunity_id": [1, 2],
            "amount": [1.5, None],
            "is_closed": [True, False],
            "created_on": [dt.date(2025, 1, 5), dt.date(2025, 2, 1)],
        }
    ).write_parquet(folder / "crm_opportunities.parquet")
    rows = load_inputs(folder, RULES).tables["crm_opportunities"].sort("row_number").rows(named=True)
    assert [(r["opportunity_id"], r["amount"], r["is_closed"], r["created_on"]) for r in rows] == [
        ("1", "1.5", "true", "2025-01-05"),
        ("2", None, "false", "2025-02-01"),
    ]


def test_sources_yaml_mapping_date_format_encoding_and_owner(tmp_path):
    text = "番号,会社,姓,名,日付,メモ\nX1,A社,山田,太郎,05/01/2025,x\n"
    sources = (
        "名刺*.csv:\n  kind: cards\n  columns: {card_id: 番号, company_name: 会社, family_name: 姓,"
        " given_name: 名, exchanged_on: 日付}\n  date_format: '%d/%m/%Y'\n  encoding: cp932\n"
        "  owner_name: 田中 一郎\n  owner_department: 第二営業部\n"
    )
    loaded = load(tmp_path, {"名刺_tanaka.csv": text.encode("cp932"), "sources.yaml": sources})
    row = cards(loaded)[0]
    assert (
        row["card_id"],
        row["exchanged_on"],
        row["owner_name"],
        row["owner_department"],
        row["makes_touch"],
    ) == ("X1", "2025-01-05", "田中 一郎", "第二営業部", True)
    assert stats(loaded, "名刺_tanaka.csv")["ignored_columns"] == ["メモ"]


def test_sources_yaml_gives_eight_export_an_owner(tmp_path):
    eight = Path(__file__).parent / "fixtures_vendor" / "eight" / "名刺一覧.csv"
    loaded = load(
        tmp_path,
        {
            "eight_sato.csv": eight.read_bytes(),
            "sources.yaml": "eight_*.csv: {owner_name: 佐藤, owner_department: 営業部}\n",
        },
    )
    assert all(r["makes_touch"] and r["owner_department"] == "営業部" for r in cards(loaded))
    assert "no_touch_without_owner" not in stats(loaded, "eight_sato.csv")["field_issues"]


@pytest.mark.parametrize(
    "sources, message",
    [
        ("cards.csv:\n  kind: card\n", "key 'cards.csv.kind': unknown kind 'card'"),
        ("cards.csv:\n  colour: red\n", "key 'cards.csv.colour': unknown setting"),
        ("cards.csv:\n  encoding: klingon\n", "key 'cards.csv.encoding': unknown encoding 'klingon'"),
        ("cards.csv: [1, 2]\n", "key 'cards.csv': expected a mapping of settings"),
        (
            "cards.csv:\n  kind: cards\n  columns: {nickname: 名}\n",
            "key 'cards.csv.columns.nickname': not a column of cards",
        ),
        ("cards.csv: {kind: cards\n", "not valid YAML at line 2"),
    ],
)
def test_bad_sources_yaml_names_file_and_key(tmp_path, sources, message):
    with pytest.raises(InputError) as err:
        load(tmp_path, {"cards.csv": csv_rows("C1,A,x,y,,,"), "sources.yaml": sources})
    assert err.value.file == "sources.yaml" and message in err.value.message()


def test_sources_yaml_column_that_the_header_lacks(tmp_path):
    with pytest.raises(InputError) as err:
        load(
            tmp_path,
            {
                "cards.csv": csv_rows("C1,A,x,y,,,"),
                "sources.yaml": "cards.csv: {kind: cards, columns: {card_id: 番号}}\n",
            },
        )
    assert (err.value.file, err.value.column) == ("cards.csv", "番号")


def test_eight_exact_duplicates_keep_distinct_keys(tmp_path):
    eight = Path(__file__).parent / "fixtures_vendor" / "eight" / "名刺一覧.csv"
    lines = eight.read_bytes().decode("cp932").splitlines()
    loaded = load(tmp_path, {"eight.csv": "\n".join([lines[0], lines[1], lines[1], lines[2]]) + "\n"})
    ids = loaded.tables["cards"].sort("row_number")["card_id"].to_list()
    assert ids[1] == ids[0] + "-2" and len(set(ids)) == 3 and loaded.quarantine.height == 0


def test_ma_leads_without_id_are_keyed_by_email(tmp_path):
    header = "Email Address,First Name,Last Name,Company Name,Lead Score"
    text = csv_rows(
        "a@x.example,太郎,山田,A社,10", "A@X.example,太郎,山田,A社,12", ",花子,鈴木,B社,1", header=header
    )
    loaded = load(tmp_path, {"marketo.csv": text})
    ids = loaded.tables["ma_leads"]["lead_id"].to_list()
    assert len(ids) == 1 and ids[0].startswith("email-")
    assert [c for _, c in codes(loaded)] == ["duplicate_id", "missing_id"]


# --- properties ----------------------------------------------------------------------------------

_ROWS = [
    "C1,A社,山田,太郎,2025/01/05,佐藤,営業部",
    "C1,A社,山田,太郎,2025-01-05,佐藤,営業部",
    "C1,B社,山田,太郎,,,",
    'C2,"X, Y",鈴木,花子,2025年2月1日,,',
    "C3,C社,x,y,2025-02-30,,",
    ",D社,x,y,,,",
    "C4,E社,x",
    'C5,"F\n社",x,y,,,',
    "C6,G社,x,y,,,",
    "C6,G社,x,y,,,",
]


def _canonical(loaded):
    tables = {
        k: t.drop("source_file", "row_number").sort(t.columns[0], *t.columns[1:-3]).rows()
        for k, t in loaded.tables.items()
    }
    reasons = sorted(
        re.sub(r" \(line \d+\)| already at .*", "", r) for r in loaded.quarantine.get_column("reason")
    )
    return tables, reasons


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order=st.permutations(range(len(_ROWS))),
    cuts=st.lists(st.integers(1, len(_ROWS) - 1), max_size=3, unique=True),
)
def test_shuffling_or_splitting_gives_the_same_tables(tmp_path_factory, order, cuts):
    base = load_inputs(write(tmp_path_factory.mktemp("base"), {"cards.csv": csv_rows(*_ROWS)}), RULES)
    rows = [_ROWS[i] for i in order]
    bounds = [0, *sorted(cuts), len(rows)]
    files = {
        f"cards_{i:02d}.csv": csv_rows(*rows[a:b])
        for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))
    }
    other = load_inputs(write(tmp_path_factory.mktemp("split"), files), RULES)
    assert _canonical(other) == _canonical(base)
    assert sum(f["rows_read"] for f in other.files) == len(_ROWS)
