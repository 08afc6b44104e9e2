"""MA activity logs at size: large ``ma_activities`` Parquet files read, checked and normalised in
chunks into DuckDB (out of core), never held whole in Python (``abm.activities.bulk``); after
resolution their touches, aggregates and output rows come from DuckDB (``abm.activities.resolved``).

A file takes this path when it is a Parquet file of kind ``ma_activities`` whose header fits that
kind's layout with an id column, and it has at least ``ABM_BULK_ACTIVITY_ROWS`` rows (default
1,000,000; ``0`` sends every such file this way). Smaller files go through the ordinary stages; the
outputs are the same either way.
"""
