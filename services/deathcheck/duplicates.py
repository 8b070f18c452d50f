"""Duplicate accounts become flags: one person drawing two pensions.

The resolver's ``duplicate_pairs`` (``services/resolver/dedupe.py``) names the pairs; here every pair becomes a
``duplicate_account`` flag on each of its accounts in this registry (an account of another registry is read-only:
its pair gets one flag, on ours, naming the other registry). A flag asks for no status change by itself.

Being paid: the account's verdict is certified (fresh evidence or a carried period) and no confirmed death ends
it; an account of another scheme's list is taken as paid (the list is of recipients). A pair both paid is critical
when its match probability is in the linkage's auto band, high in the review band; otherwise medium.

Months paid double: the registry carries no account start date, so the payments of the last
``duplicate_months`` months to the round date (``DeathCheckSettings``) are counted, and the detail says so. The
amount at stake (the flag's ``overpayment``) is the smaller pension times those months — what was paid a second
time — and the detail also states both pensions and what went to both accounts.

A reviewer's decision (``effects.py``): confirm on the account that is the duplicate (payments held), dismiss
when the two are different people. A dismissed flag closes the pair: its evidence is no longer shared (the
resolver reads the decision into ``duplicate_pairs.open``).

Shared evidence: while a pair is open, a record that matched both accounts certifies the person. The linker
treats the pair as one candidate (so the record is confident, not split) and links the record to one account;
``share_certification`` gives the other account of an open auto-band pair the same verdict, pointing at the flag.
"""

from __future__ import annotations

import calendar
from datetime import date

import duckdb

from silentcert.graph import sql
from silentcert.services.deathcheck.payments import payments_between
from silentcert.services.deathcheck.settings import DeathCheckSettings

KIND = "duplicate_account"


# The macro duplicate_flag_id(person, other_registry, other_person): the id of the duplicate_account (KIND) flag on
# person for its pair with other_person (of other_registry, NULL for this registry); independent of the round, so a
# decision is found again.
FLAG_ID_MACRO = """
CREATE OR REPLACE TEMP MACRO duplicate_flag_id(person, other_registry, other_person) AS
'duplicate_account:' || person || ':' || coalesce(other_registry || '/', '') || other_person
"""


def create_flag_id_macro(con: duckdb.DuckDBPyConnection) -> None:
    """Define the ``duplicate_flag_id`` macro on ``con``."""
    sql.run(con, "duplicate_flag_id_macro", FLAG_ID_MACRO)


def window_start(as_of: date, months: int) -> date:
    """The round date ``months`` calendar months earlier (the day clipped to the month's length)."""
    index = as_of.year * 12 + as_of.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(as_of.day, calendar.monthrange(year, month + 1)[1]))


_PAIR_COUNT = "SELECT count(*) FROM duplicate_pairs"


def duplicate_flags(con: duckdb.DuckDBPyConnection, as_of: date, settings: DeathCheckSettings) -> int:
    """Append the flags of every duplicate pair to ``raised``; returns the number of pairs."""
    if not sql.has_table(con, "duplicate_pairs"):
        return 0
    start = window_start(as_of, settings.duplicate_months)
    months = payments_between(start, as_of, settings.payment_day)
    _sides(con, months)
    create_flag_id_macro(con)
    sql.run(con, "duplicate_flags", _DUPLICATE_FLAGS, {"months": months, "start": start, "as_of": as_of})
    return sql.scalar(con, "duplicate_pair_count", _PAIR_COUNT)


_DUPLICATE_FLAGS = """
        INSERT INTO raised
        SELECT duplicate_flag_id(s.pid, s.other_registry, s.other_id), s.pid, 'duplicate_account',
               CASE WHEN s.paid AND s.other_paid AND s.band = 'auto' THEN 'critical'
                    WHEN s.paid AND s.other_paid THEN 'high' ELSE 'medium' END,
               format('Possibly the same person as {} account {} (line {}, county {}; match probability '
                      || '{:.3f}, {} band). This account: registry line {}, county {}, {:.2f} a month, {}; '
                      || 'the other: {:.2f} a month, {}. {} monthly payments from {} to {} (the round''s '
                      || 'window: account start dates are unknown): {:.2f} paid to the two accounts, {:.2f} of '
                      || 'it a second time.',
                      coalesce(s.other_registry, 'registry'), s.other_id, coalesce(s.other_line::VARCHAR, '?'),
                      coalesce(s.other_county, '?'), s.match_probability, s.band, s.line,
                      coalesce(s.county_code, '?'), coalesce(s.pension, 0), paid_text(s.paid),
                      coalesce(s.other_pension, 0), paid_text(s.other_paid), $months, $start, $as_of,
                      $months * (coalesce(s.pension, 0) + coalesce(s.other_pension, 0)), s.at_stake),
               s.at_stake, NULL, s.county_code, NULL
        FROM duplicate_pair_sides s
"""


_SHARE_CERTIFICATION = """
        UPDATE verdicts SET status = t.status, method = t.method, source = t.source, evidence_at = t.evidence_at,
            probability = greatest(verdicts.probability, t.probability), certified_until = t.certified_until,
            period_state = t.period_state,
            explanation = t.explanation || ' Evidence shared with duplicate account ' || t.person_id
                          || ': it matched both accounts (flag ' || t.flag_id || ').'
        FROM duplicate_shared_evidence t WHERE verdicts.person_id = t.pid
    """
_SHARED_COUNT = "SELECT count(*) FROM duplicate_shared_evidence"


def share_certification(con: duckdb.DuckDBPyConnection) -> int:
    """The account of an open auto-band pair that the shared evidence was not linked to gets its twin's verdict
    when the evidence that certified the twin (the deciding record, or a weak record of a weak certification) was
    a candidate of this account too; returns the number of verdicts changed."""
    if not sql.has_table(con, "duplicate_pairs"):
        return 0
    create_flag_id_macro(con)
    sql.run(con, "duplicate_shared", _SHARED)
    sql.run(con, "share_certification", _SHARE_CERTIFICATION)
    return sql.scalar(con, "shared_count", _SHARED_COUNT)


_SHARED = """
        CREATE OR REPLACE TEMP TABLE duplicate_shared_evidence AS
        WITH sides AS (
            SELECT person_id AS pid, other_person_id AS twin FROM duplicate_pairs
            WHERE open AND band = 'auto' AND other_registry IS NULL
            UNION ALL
            SELECT other_person_id, person_id FROM duplicate_pairs
            WHERE open AND band = 'auto' AND other_registry IS NULL),
        shared AS (
            SELECT s.pid, s.twin FROM sides s
            JOIN verdicts t ON t.person_id = s.twin AND t.status = 'certified'
            JOIN evidence e ON e.person_id = s.twin
                 AND (e.role = 'decides' OR (t.method = 'weak' AND e.role = 'weak'))
            JOIN link_candidates c ON c.rid = e.rid AND c.person_id = s.pid
            GROUP BY ALL)
        SELECT s.pid, t.*, duplicate_flag_id(s.pid, NULL, s.twin) AS flag_id
        FROM shared s JOIN verdicts t ON t.person_id = s.twin JOIN verdicts v ON v.person_id = s.pid
        WHERE v.status <> 'certified' OR v.certified_until < t.certified_until
        QUALIFY row_number() OVER (PARTITION BY s.pid ORDER BY t.certified_until DESC, t.person_id) = 1
"""


_PAID_TEXT = """
        CREATE OR REPLACE TEMP MACRO paid_text(p) AS CASE WHEN p THEN 'being paid' ELSE 'not being paid' END;
    """


def _sides(con: duckdb.DuckDBPyConnection, months: int) -> None:
    """``duplicate_pair_sides``: one row per (account of ours, the other account) with what each is paid."""
    others = _OTHER_ACCOUNTS if sql.has_table(con, "other_registries") else _NO_OTHER_ACCOUNTS
    sql.run(con, "paid_text_macro", _PAID_TEXT)
    sql.run(con, "duplicate_sides", sql.compose(_SIDES, others=others), {"months": months})


_OTHER_ACCOUNTS = "SELECT registry, person_id, line, county_code, monthly_pension FROM other_registries"
_NO_OTHER_ACCOUNTS = """
SELECT NULL::VARCHAR AS registry, NULL::VARCHAR AS person_id, NULL::BIGINT AS line, NULL::VARCHAR AS county_code,
       NULL::DOUBLE AS monthly_pension WHERE false
"""
# {others}: _OTHER_ACCOUNTS, or _NO_OTHER_ACCOUNTS when the round names no other registry
_SIDES = """
        CREATE OR REPLACE TEMP TABLE duplicate_pair_sides AS
        WITH sides AS (
            SELECT person_id AS pid, other_person_id AS other_id, other_registry, match_probability, band
            FROM duplicate_pairs
            UNION ALL
            SELECT other_person_id, person_id, NULL, match_probability, band
            FROM duplicate_pairs WHERE other_registry IS NULL),
        paid AS (
            SELECT g.person_id, g.line, g.county_code, g.monthly_pension,
                   coalesce(v.status = 'certified', false) AND NOT coalesce(d.confirmed, false) AS paid
            FROM registry g LEFT JOIN verdicts v USING (person_id) LEFT JOIN deaths d USING (person_id)),
        x AS ({others}),
        joined AS (
            SELECT s.*, a.line, a.county_code, a.monthly_pension AS pension, a.paid,
                   coalesce(b.line, x.line) AS other_line, coalesce(b.county_code, x.county_code) AS other_county,
                   coalesce(b.monthly_pension, x.monthly_pension) AS other_pension,
                   CASE WHEN s.other_registry IS NULL THEN coalesce(b.paid, false) ELSE true END AS other_paid
            FROM sides s JOIN paid a ON a.person_id = s.pid
            LEFT JOIN paid b ON s.other_registry IS NULL AND b.person_id = s.other_id
            LEFT JOIN x ON x.registry = s.other_registry AND x.person_id = s.other_id)
        SELECT *, CASE WHEN paid AND other_paid
                       THEN $months * least(coalesce(pension, 0), coalesce(other_pension, 0)) ELSE 0.0 END AS at_stake
        FROM joined
"""
