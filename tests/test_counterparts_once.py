"""The pipeline computes ``counterparts`` once and hands it to touches, persons and gaps (issue 14):
each stage given it returns what it returns computing its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
import pytest

from abm.detect.current import current_persons
from abm.detect.gaps import detect_gaps
from abm.detect.policy import Policy
from abm.detect.touches import build_touches, counterparts
from tests.test_detect_frames import AS_OF, activity, card, contact, ma_lead, make_records, opportunity


def _ago(n: int) -> str:
    return (AS_OF - timedelta(days=n)).isoformat()


WORLDS: list[list[dict[str, Any]]] = [
    # every kind, an opportunity and an activity whose counterpart is another record
    [card("C1", "A", "P1", "情報システム部", "第一営業部", _ago(10), rank=5),
     contact("K1", "A", "P1", "情報システム部", "第二営業部", _ago(20), last_activity_on=_ago(5)),
     contact("K2", "A", "P2", "総務部", "第二営業部", _ago(30)),
     opportunity("O1", "A", "K2", "第三営業部", _ago(8)),
     ma_lead("M1", "A", "P3", "経理部", _ago(40)),
     activity("X1", "A", "M1", "P3", "マーケティング部", _ago(3)),
     activity("X2", "A", "M9", None, "マーケティング部", _ago(4))],   # its lead is not in the input
    # a hidden key person: engaged department, its decision maker known only elsewhere
    [*(card(f"C{i}", "B", "P9", "営業企画部", "第一営業部", _ago(5 + i)) for i in range(3)),
     card("D1", "B", "P8", "営業企画部", "人事部", _ago(200), rank=5),
     opportunity("O2", "B", None, "第一営業部", _ago(2))],
    [],
]


@pytest.mark.parametrize("rows", WORLDS)
def test_stages_given_counterparts_return_what_they_compute(rows: list[dict[str, Any]]) -> None:
    records = make_records(rows)
    about = counterparts(records)
    touches = build_touches(records, AS_OF)
    assert build_touches(records, AS_OF, about).equals(touches)
    persons = current_persons(records, AS_OF)
    assert current_persons(records, AS_OF, about=about).equals(persons)
    gaps = detect_gaps(touches, persons, records, Policy(), AS_OF)
    assert detect_gaps(touches, persons, records, Policy(), AS_OF, about=about).equals(gaps)


def test_the_pipeline_computes_counterparts_once(demo_dir, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import abm.detect.touches as touches_module
    import abm.pipeline as pipeline
    from abm.settings import Settings

    calls: list[int] = []
    real = touches_module.counterparts

    def counted(records: pl.DataFrame) -> pl.DataFrame:
        calls.append(records.height)
        return real(records)

    for module in ("abm.detect.touches", "abm.detect.current", "abm.detect.gaps", "abm.pipeline"):
        monkeypatch.setattr(f"{module}.counterparts", counted)
    pipeline.run(Settings(input_dir=demo_dir, out_dir=tmp_path / "out", value_cache=False))
    assert len(calls) == 1


def test_hidden_key_person_holders_are_the_owners_of_the_records_about_them() -> None:
    """holder_owners: our people named on the records about the decision maker (touching records only),
    looked up for those records alone."""
    records = make_records([
        *(card(f"C{i}", "B", "P9", "営業企画部", "第一営業部", _ago(5 + i), owner_name="鈴木") for i in range(3)),
        card("D1", "B", "P8", "営業企画部", "人事部", _ago(200), rank=5, owner_name="山田"),
        card("D2", "B", "P8", "営業企画部", "人事部", _ago(210), rank=5, owner_name="佐藤", makes_touch=False),
        card("D3", "B", "P8", "営業企画部", "総務部", _ago(220), rank=5, owner_name="青木"),
        opportunity("O2", "B", None, "第一営業部", _ago(2))])
    touches = build_touches(records, AS_OF)
    gaps = detect_gaps(touches, current_persons(records, AS_OF), records, Policy(), AS_OF)
    hidden = gaps.filter(pl.col("gap_type") == "hidden_key_person")
    assert hidden.get_column("person_id").to_list() == ["P8"]
    assert hidden.get_column("holder_owners").to_list() == [["山田", "青木"]]
