"""The night at a glance: headline counts and the four overview charts of report.html."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from markupsafe import Markup

from abm.report.charts import Bar, bar_chart, heatmap, trend_chart
from abm.report.messages import Messages
from abm.report.model import SEVERITIES

SEVERITY_COLORS = {"critical": "#c0262d", "high": "#e8710a", "medium": "#f2b705", "low": "#8c9aa8"}
GAP_TYPES = ("no_decision_maker", "hidden_key_person", "single_threaded")
GAP_COLORS = {"no_decision_maker": "#6c3fb5", "hidden_key_person": "#1769aa", "single_threaded": "#2f8f6a"}
HEATMAP_DEPARTMENTS = 14            # the departments in most collisions; the department view lists all


@dataclass
class Overview:
    counts: dict[str, int] = field(default_factory=dict)
    severity_chart: Markup = Markup("")
    pairs_chart: Markup = Markup("")
    pairs_left_out: int = 0
    gaps_chart: Markup = Markup("")
    trend_chart: Markup | None = None


def _count(df: pl.DataFrame, column: str, value: str) -> int:
    return int((df.get_column(column) == value).sum()) if column in df.columns and df.height else 0


def department_pairs(collisions: pl.DataFrame) -> pl.DataFrame:
    """One row per ordered pair of our departments that appear together on a collision: a, b, n."""
    if collisions.height == 0:
        return pl.DataFrame(schema={"a": pl.String, "b": pl.String, "n": pl.UInt32})
    flags = collisions.with_row_index("__flag").select("__flag", pl.col("internal_departments").alias("a")).explode("a")
    return (flags.join(flags.rename({"a": "b"}), on="__flag")
            .filter(pl.col("a") != pl.col("b"))
            .group_by("a", "b").agg(pl.len().alias("n")))


def _trend(runs: pl.DataFrame | None, msg: Messages) -> Markup | None:
    if runs is None or runs.height < 2:
        return None
    runs = runs.sort("run_at")
    labels = [str(v) for v in runs.get_column("as_of").cast(pl.String).fill_null("").to_list()]
    series = [(msg("collisions"), "#c0262d", "collisions"), (msg("gaps"), "#1769aa", "gaps")]
    if "critical_collisions" in runs.columns:
        series.insert(1, (msg("critical"), "#7a0f14", "critical_collisions"))
    lines = [(name, color, [int(v or 0) for v in runs.get_column(col).to_list()])
             for name, color, col in series if col in runs.columns]
    return trend_chart(labels, lines, msg("chart_trend"))


def build_overview(tables: Mapping[str, pl.DataFrame], counts: Mapping[str, Any], msg: Messages) -> Overview:
    collisions, gaps = tables["collisions"], tables["key_person_gaps"]
    flagged = pl.concat([collisions.select("account_id"), gaps.select("account_id")]).n_unique()
    history = tables.get("flag_history")
    resolved = 0
    if history is not None and history.height and "run_at" in history.columns:
        latest = history.get_column("run_at").max()
        resolved = int(((history.get_column("run_at") == latest) & (history.get_column("status") == "resolved")).sum())
    out = Overview(counts={
        "accounts": int(counts.get("accounts", tables["accounts"].height)),
        "persons": int(counts.get("persons", tables["persons"].height)),
        "records": int(counts.get("records", 0)),
        "quarantine": int(counts.get("quarantine", 0)),
        "collisions": collisions.height,
        "critical": _count(collisions, "severity", "critical"),
        "gaps": gaps.height,
        "flagged_accounts": flagged,
        "new_flags": _count(collisions, "status", "new") + _count(gaps, "status", "new"),
        "resolved_flags": resolved,
    })
    out.severity_chart = bar_chart(
        [Bar(msg.label("severity", s), _count(collisions, "severity", s), SEVERITY_COLORS[s]) for s in SEVERITIES],
        msg("chart_severity"))
    out.gaps_chart = bar_chart(
        [Bar(msg.label("gap_type", t), _count(gaps, "gap_type", t), GAP_COLORS[t]) for t in GAP_TYPES],
        msg("chart_gaps"))
    pairs = department_pairs(collisions)
    if pairs.height:
        ranking = pairs.group_by("a").agg(pl.col("n").sum()).sort(["n", "a"], descending=[True, False])
        names = ranking.get_column("a").head(HEATMAP_DEPARTMENTS).to_list()
        out.pairs_left_out = max(ranking.height - len(names), 0)
        cells = {(a, b): int(n) for a, b, n in pairs.filter(pl.col("a").is_in(names) & pl.col("b").is_in(names))
                 .iter_rows()}
        out.pairs_chart = heatmap(names, cells, msg("chart_pairs"))
    out.trend_chart = _trend(tables.get("runs"), msg)
    return out
