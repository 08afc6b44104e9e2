"""Registrable domain and free-mail flag of a column of hosts, e-mail addresses or URLs, at table speed.

The same answers as ``registrable_domain`` and ``is_free_mail`` value by value
(``tests/test_normalize_domain_columns.py`` checks it on random and hostile strings):

- a value of printable ASCII without spaces or ``@`` (the usual e-mail host, ``https://www.x.co.jp/a``,
  ``x.com``) is reduced to its host by polars expressions doing what ``_host`` does to such a value
  (lower case, scheme, path/query/fragment, port and edge dots dropped); when that host has the plain
  shape ``_host`` accepts, its registrable domain and free-mail flag come from list expressions over
  its labels (longest public suffix of ``contact.yaml`` first, as ``registrable_domain`` loops);
- anything else (full-width text, user info, IP-like or junk hosts) goes through the Python functions
  once per distinct value.
"""

from __future__ import annotations

import polars as pl

from abm.normalize.contact import ContactRules, is_free_mail, registrable_domain
from abm.normalize.unique import apply_unique

#: ``contact._DOMAIN`` without its look-ahead (the length is checked apart)
PLAIN_HOST = r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$"
#: printable ASCII without space or @: NFKC, control stripping and ``strip`` leave it as it is
_SIMPLE = r"^[!-?A-~]+$"
_SCHEME = r"^[a-z][a-z0-9+.\-]*://"


def _labels(n: int, labels: pl.Expr) -> pl.Expr:
    """The last ``n`` labels joined by dots."""
    return labels.list.tail(n).list.join(".")


def _host_expr(value: pl.Expr) -> pl.Expr:
    """``_host`` of a ``_SIMPLE`` value (null where the value is not ``_SIMPLE``)."""
    s = value.str.to_lowercase().str.replace(_SCHEME, "")
    s = s.str.extract(r"^([^/?#]*)", 1).str.split(":").list.first().str.strip_chars(".")
    return pl.when(value.str.contains(_SIMPLE)).then(s)


def domain_columns(df: pl.DataFrame, col: str, cr: ContactRules, domain: str, free: str | None = None) -> pl.DataFrame:
    """``df`` + ``domain`` = ``registrable_domain(col)`` and, when ``free`` is named, ``free`` =
    ``is_free_mail(col)`` (null where ``col`` is null, as the per-value ``_email`` host did).
    Computed once per distinct value of ``col`` (and the label work once per distinct host)."""
    values = _domain_columns(df.select(pl.col(col).unique()), col, cr, domain, free)
    return df.join(values, on=col, how="left", nulls_equal=True, maintain_order="left")


def _domain_columns(df: pl.DataFrame, col: str, cr: ContactRules, domain: str, free: str | None) -> pl.DataFrame:
    host = pl.col("_dc_host")
    df = df.with_columns(_host_expr(pl.col(col)).alias("_dc_host"))
    # e-mail addresses repeat their domains. The labels and their count are columns, not
    # expressions: eager ``with_columns`` re-evaluates a repeated sub-expression at each use
    # (the split was done once per suffix length and per free-mail length)
    hosts = df.select(host.unique()).with_columns(host.str.split(".").alias("_dc_labels"))
    hosts = hosts.with_columns(pl.col("_dc_labels").list.len().alias("_dc_count"))
    fast = (host.str.contains(PLAIN_HOST) & (host.str.len_bytes() <= 253)).fill_null(False)
    labels, count = pl.col("_dc_labels"), pl.col("_dc_count")
    top = max((s.count(".") + 1 for s in cr.public_suffixes), default=0)
    keep: pl.Expr = pl.lit(2, pl.UInt32)
    for n in range(2, top + 1):   # the longest suffix wins: checked last, so it overrides
        suffix = _labels(n, labels).is_in(list(cr.public_suffixes))
        keep = pl.when((count - 1 >= n) & suffix).then(pl.lit(n + 1, pl.UInt32)).otherwise(keep)
    whole_suffix = host.is_in(list(cr.public_suffixes))
    registrable = pl.when(~whole_suffix).then(labels.list.tail(keep).list.join("."))
    exprs = [pl.when(fast).then(registrable).alias("_dc_domain"), fast.alias("_dc_fast")]
    if free is not None:
        most = max((s.count(".") + 1 for s in cr.free_mail), default=0)
        hits = [(count >= n) & _labels(n, labels).is_in(list(cr.free_mail)) for n in range(2, most + 1)]
        exprs.append(pl.when(fast).then(pl.any_horizontal(hits) if hits else pl.lit(False)).alias("_dc_free"))
    hosts = hosts.with_columns(exprs).drop("_dc_labels", "_dc_count")
    df = df.join(hosts, on="_dc_host", how="left", nulls_equal=True, maintain_order="left")

    def slow(value: str | None) -> tuple[str | None, bool | None]:
        if value is None:
            return None, None
        return registrable_domain(value, cr), is_free_mail(value, cr)

    df = apply_unique(df, [col], slow, {"_dc_domain_s": pl.Utf8, "_dc_free_s": pl.Boolean},
                      only=~pl.col("_dc_fast") & pl.col(col).is_not_null())
    out = [pl.when(pl.col("_dc_fast")).then(pl.col("_dc_domain")).otherwise(pl.col("_dc_domain_s")).alias(domain)]
    if free is not None:
        out.append(pl.when(pl.col("_dc_fast")).then(pl.col("_dc_free")).otherwise(pl.col("_dc_free_s")).alias(free))
    return df.with_columns(out).drop("_dc_host", "_dc_fast", "_dc_domain", "_dc_domain_s", "_dc_free_s",
                                     *(["_dc_free"] if free is not None else []))
