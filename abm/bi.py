"""BI layer of ``abm.duckdb``: views that answer the common questions without joins, bridge tables
for the list columns, and ``run_info`` (the run's as-of date).

Called by ``abm.export.write_tables`` once the tables are in the database. Every object is listed
in ``BI_OBJECTS`` with a one-line description (the README documents the same list). List columns
stay ``VARCHAR[]`` in the base tables; the views add ``…_text`` columns (values joined by ", ")
for tools that cannot read lists, and the bridge tables hold one row per list element.
"""

from __future__ import annotations

import duckdb

_SEVERITY_ORDER = "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 " \
                  "WHEN 'low' THEN 3 ELSE 9 END"

#: name -> (tables it needs, SQL body after ``CREATE OR REPLACE {VIEW|TABLE} name AS``)
BI_OBJECTS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "run_info": (("runs",), "TABLE", """
        SELECT run_at, as_of, abm_version, input_rows, records, accounts, persons, collisions, gaps
        FROM runs ORDER BY run_at DESC LIMIT 1"""),
    "collision_internal_departments": (("collisions",), "TABLE", """
        SELECT flag_id, account_id, level, severity, status, unnest(internal_departments) AS internal_department
        FROM collisions"""),
    "collision_internal_owners": (("collisions",), "TABLE", """
        SELECT flag_id, account_id, unnest(internal_owners) AS owner_name FROM collisions"""),
    "collision_evidence": (("collisions",), "TABLE", """
        SELECT flag_id, account_id, unnest(evidence) AS record_key FROM collisions"""),
    "gap_evidence": (("key_person_gaps",), "TABLE", """
        SELECT flag_id, account_id, unnest(evidence) AS record_key FROM key_person_gaps"""),
    "v_collisions": (("collisions", "accounts", "persons"), "VIEW", f"""
        SELECT c.flag_id, c.severity, {_SEVERITY_ORDER.replace('severity', 'c.severity')} AS severity_order,
               c.status, c.first_seen_on, c.level,
               c.account_id, a.name AS account_name, a.prefecture, a.corporate_number,
               array_to_string(a.domains, ', ') AS domains,
               c.counterpart_department, c.person_id, p.name AS person_name, p.title AS person_title,
               p.rank AS person_rank,
               array_to_string(c.internal_departments, ', ') AS internal_departments_text,
               array_to_string(c.internal_owners, ', ') AS internal_owners_text,
               c.open_opportunities, c.open_opportunity_amount,
               array_to_string(c.open_opportunity_products, ', ') AS open_opportunity_products_text,
               array_to_string(c.open_opportunity_stages, ', ') AS open_opportunity_stages_text,
               c.window_start, c.window_end, c.first_touched_on, c.last_touched_on, c.n_touches,
               len(c.evidence) AS n_evidence,
               c.internal_departments, c.internal_owners, c.evidence
        FROM collisions c
        LEFT JOIN accounts a USING (account_id)
        LEFT JOIN persons p ON p.person_id = c.person_id"""),
    "v_gaps": (("key_person_gaps", "accounts", "persons"), "VIEW", """
        SELECT g.flag_id, g.gap_type, g.status, g.first_seen_on,
               g.account_id, a.name AS account_name, a.prefecture, a.corporate_number,
               g.counterpart_department, g.person_id, p.name AS person_name, p.title AS person_title,
               p.rank AS person_rank,
               array_to_string(g.holder_internal_departments, ', ') AS holder_internal_departments_text,
               array_to_string(g.holder_owners, ', ') AS holder_owners_text,
               array_to_string(g.engaging_internal_departments, ', ') AS engaging_internal_departments_text,
               g.known_since, g.n_touches, g.has_open_opportunity, g.n_people, g.n_decision_makers,
               len(g.evidence) AS n_evidence,
               g.holder_internal_departments, g.holder_owners, g.engaging_internal_departments, g.evidence
        FROM key_person_gaps g
        LEFT JOIN accounts a USING (account_id)
        LEFT JOIN persons p ON p.person_id = g.person_id"""),
    "v_account_summary": (("accounts", "collisions", "key_person_gaps", "touches"), "VIEW", """
        WITH c AS (
            SELECT account_id, count(*) AS collisions,
                   count(*) FILTER (WHERE severity = 'critical') AS critical_collisions,
                   count(*) FILTER (WHERE severity = 'high') AS high_collisions,
                   count(*) FILTER (WHERE severity = 'medium') AS medium_collisions,
                   count(*) FILTER (WHERE severity = 'low') AS low_collisions,
                   count(*) FILTER (WHERE status = 'new') AS new_collisions
            FROM collisions GROUP BY account_id),
        g AS (
            SELECT account_id, count(*) AS gaps,
                   count(*) FILTER (WHERE gap_type = 'no_decision_maker') AS no_decision_maker_gaps,
                   count(*) FILTER (WHERE gap_type = 'hidden_key_person') AS hidden_key_person_gaps,
                   count(*) FILTER (WHERE gap_type = 'single_threaded') AS single_threaded_gaps,
                   count(*) FILTER (WHERE status = 'new') AS new_gaps
            FROM key_person_gaps GROUP BY account_id),
        o AS (
            SELECT account_id, count(*) AS open_opportunities, coalesce(sum(amount), 0) AS open_opportunity_value
            FROM (SELECT DISTINCT ON (record_key) account_id, record_key, amount FROM touches
                  WHERE is_open_opportunity)
            GROUP BY account_id)
        SELECT a.account_id, a.name AS account_name, a.prefecture, a.corporate_number,
               array_to_string(a.domains, ', ') AS domains, a.n_records, a.n_persons AS persons,
               coalesce(c.collisions, 0) AS collisions, coalesce(c.critical_collisions, 0) AS critical_collisions,
               coalesce(c.high_collisions, 0) AS high_collisions,
               coalesce(c.medium_collisions, 0) AS medium_collisions,
               coalesce(c.low_collisions, 0) AS low_collisions, coalesce(c.new_collisions, 0) AS new_collisions,
               coalesce(g.gaps, 0) AS gaps, coalesce(g.no_decision_maker_gaps, 0) AS no_decision_maker_gaps,
               coalesce(g.hidden_key_person_gaps, 0) AS hidden_key_person_gaps,
               coalesce(g.single_threaded_gaps, 0) AS single_threaded_gaps, coalesce(g.new_gaps, 0) AS new_gaps,
               coalesce(o.open_opportunities, 0) AS open_opportunities,
               coalesce(o.open_opportunity_value, 0) AS open_opportunity_value
        FROM accounts a
        LEFT JOIN c USING (account_id) LEFT JOIN g USING (account_id) LEFT JOIN o USING (account_id)"""),
    "v_internal_department_collisions": (("collisions", "accounts"), "VIEW", f"""
        WITH d AS (
            SELECT flag_id, account_id, severity, status, unnest(internal_departments) AS internal_department,
                   internal_departments
            FROM collisions)
        SELECT d.internal_department, d.account_id, a.name AS account_name, a.prefecture,
               array_to_string(list_sort(list_distinct(flatten(list(
                   list_filter(d.internal_departments, lambda x: x <> d.internal_department))))), ', ')
                   AS other_departments,
               count(*) AS collisions,
               count(*) FILTER (WHERE d.severity = 'critical') AS critical_collisions,
               count(*) FILTER (WHERE d.status = 'new') AS new_collisions,
               min({_SEVERITY_ORDER.replace('severity', 'd.severity')}) AS worst_severity_order
        FROM d LEFT JOIN accounts a USING (account_id)
        GROUP BY d.internal_department, d.account_id, a.name, a.prefecture"""),
}


def create_bi_objects(con: duckdb.DuckDBPyConnection, tables: set[str]) -> list[str]:
    """Create every BI object whose tables are present; returns their names."""
    made = []
    for name, (needs, kind, body) in BI_OBJECTS.items():
        if not set(needs) <= tables:
            continue
        con.execute(f'CREATE OR REPLACE {kind} "{name}" AS {body}')
        made.append(name)
    return made
