"""Our side of each touch: the owner columns per kind, and owners resolved through a Salesforce
User export (owner id -> name and department) or the sources.yaml defaults."""

from __future__ import annotations

import polars as pl

from abm.contract import TOUCH_OWNER

__all__ = ["TOUCH_OWNER", "resolve_owners", "users_table"]

def resolve_owners(table: pl.DataFrame, kind: str, users: pl.DataFrame | None) -> pl.DataFrame:
    """owner_name / owner_department from the row, else the User export, else sources.yaml defaults."""
    if "_owner_id" not in table.columns:
        table = table.with_columns(pl.lit(None, dtype=pl.Utf8).alias("_owner_id"))
    if kind == "ma_activities":
        return table.with_columns(
            pl.coalesce("program_department", "_default_department").alias("program_department")
        )
    if kind not in TOUCH_OWNER and kind != "crm_accounts":
        return table
    user_name = user_dept = dept_by_name = pl.lit(None, dtype=pl.Utf8)
    if users is not None and users.height:
        by_id = users.select(
            pl.col("user_id").alias("_owner_id"),
            pl.col("name").alias("_u_name"),
            pl.col("department").alias("_u_dept"),
        ).unique("_owner_id", keep="first")
        by_name = (
            users.filter(pl.col("name").is_not_null())
            .select(pl.col("name").alias("_u_key"), pl.col("department").alias("_u_dept_n"))
            .unique("_u_key", keep="first")
        )
        table = (
            table.join(by_id, on="_owner_id", how="left")
            .with_columns(pl.coalesce("owner_name", "_u_name").alias("_u_key"))
            .join(by_name, on="_u_key", how="left")
        )
        user_name, user_dept, dept_by_name = pl.col("_u_name"), pl.col("_u_dept"), pl.col("_u_dept_n")
    table = table.with_columns(
        pl.coalesce("owner_name", user_name, "_default_owner", "_owner_id").alias("owner_name"),
        pl.coalesce("owner_department", user_dept, dept_by_name, "_default_department").alias(
            "owner_department"
        ),
        (pl.col("_owner_id").is_not_null() & user_name.is_null()).alias("_owner_unresolved"),
    )
    return table.drop([c for c in ("_u_name", "_u_dept", "_u_key", "_u_dept_n") if c in table.columns])


def users_table(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    if not frames:
        return None
    users = pl.concat(frames, how="diagonal_relaxed")
    full = pl.concat_str(["family_name", "given_name"], separator=" ", ignore_nulls=True)
    return users.with_columns(pl.coalesce("name", pl.when(full.str.len_chars() > 0).then(full)).alias("name"))
