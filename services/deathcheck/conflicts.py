"""Conflict rules: merged deaths, post-death activity and old age become flags for a human reviewer.

Every rule is one set-wise query appending to the temp table ``raised`` (one row per flag, with the ``outcome``
the flag asks for: ``deceased``, ``review`` or NULL for no status change) and ``cited`` (flag_id, rid). Each
person with a death gets exactly one *primary* flag deciding the automatic outcome:

    strong or passed face/in-person record after the death   activity_after_death   review (never deceased)
    every report contradicts the registry identity           register_disagreement  review
    confirmed (DeathCheckSettings: two agreeing registers)    confirmed_death        deceased
    reports disagree on the date beyond the tolerance         register_disagreement  review
    otherwise (a lone register)                               unconfirmed_death      review

A death record linked to nobody whose best candidate is a pensioner below the review band (the link probability
between the candidate floor and the review floor) is never dropped: it raises ``possible_death_record`` on that
pensioner (unless a death report already links to them), and a certification resting on evidence dated after the
record goes to review until a reviewer decides.

plus secondary flags that change nothing by themselves (weak activity after the death, a disagreement beside a
confirmed death; a low-severity ``register_disagreement`` asking for the date alone to be checked when strong
evidence lies between the earliest report and the death date merge.py chose). flag_id = kind:person_id:key, the key independent of the round (the death date, the record),
so a rerun finds the reviewer's earlier decision.
"""

from __future__ import annotations

from datetime import date

import duckdb

from silentcert.graph import sql
from silentcert.services.deathcheck.payments import create_payments_macro
from silentcert.services.deathcheck.settings import DeathCheckSettings

DEATH_KINDS = ("confirmed_death", "activity_after_death", "weak_activity_after_death", "register_disagreement",
               "unconfirmed_death", "uncertain_death_link", "possible_death_record")

_RAISED = """
CREATE OR REPLACE TEMP TABLE raised (flag_id VARCHAR, person_id VARCHAR, kind VARCHAR, severity VARCHAR,
    detail VARCHAR, overpayment DOUBLE, ring_id VARCHAR, county_code VARCHAR, outcome VARCHAR)
"""
_CITED = "CREATE OR REPLACE TEMP TABLE cited (flag_id VARCHAR, rid BIGINT)"


def start_flags(con: duckdb.DuckDBPyConnection) -> None:
    sql.run(con, "raised", _RAISED)
    sql.run(con, "cited", _CITED)


def death_flags(con: duckdb.DuckDBPyConnection, as_of: date, settings: DeathCheckSettings) -> None:
    """Primary and secondary flags of every person with a death, and uncertain death links."""
    _post_death_activity(con)
    _death_facts(con, as_of, settings)
    sql.run(con, "primary_flags", _PRIMARY,
            {"tolerance": int(settings.date_tolerance_days), "needs": _confirmation_rule(settings)})
    sql.run(con, "secondary_flags", _SECONDARY)
    sql.run(con, "uncertain_death_links", _UNCERTAIN_LINKS)
    _possible_death_records(con)
    sql.run(con, "death_citations", sql.compose(_DEATH_CITATIONS, alive_before=_ALIVE_BEFORE))


def _confirmation_rule(settings: DeathCheckSettings) -> str:
    """What a death needs to be confirmed, in a reviewer's words (a value bound into the flag's detail)."""
    rule = f"{int(settings.min_agreeing_sources)} agreeing registers"
    if settings.decisive_sources:
        rule += " or one from " + "/".join(settings.decisive_sources)
    return rule


_HOME_VISITS = """
        INSERT INTO raised
        WITH seen AS (
            SELECT l.person_id, max(CAST(r.occurred_at AS DATE)) AS last_seen
            FROM links l JOIN records r USING (rid)
            WHERE l.band = 'auto' AND r.kind <> 'death' AND coalesce(r.passed, true) GROUP BY l.person_id),
        old AS (
            SELECT g.person_id, g.county_code, g.birth_date,
                   date_diff('year', g.birth_date, $as_of)
                     - CASE WHEN strftime(g.birth_date, '%m%d') > strftime($as_of, '%m%d') THEN 1 ELSE 0 END
                     AS age,
                   greatest(s.last_seen, CAST(v.evidence_at AS DATE)) AS last_seen
            FROM registry g LEFT JOIN seen s USING (person_id) LEFT JOIN verdicts v USING (person_id)
            WHERE g.birth_date IS NOT NULL)
        SELECT 'home_visit:' || o.person_id || ':' || coalesce(CAST(o.last_seen AS VARCHAR), 'never'),
               o.person_id, 'home_visit', CASE WHEN o.age >= 100 THEN 'medium' ELSE 'low' END,
               format('Aged {}, {} (home visits after {} months without evidence): visit at home.', o.age,
                      coalesce('no evidence of life since ' || CAST(o.last_seen AS VARCHAR),
                               'no evidence of life on record'), $months),
               0.0, NULL, o.county_code, NULL
        FROM old o
        WHERE o.age >= $age
          AND (o.last_seen IS NULL
               OR o.last_seen < $as_of - to_months($months))
          AND o.person_id NOT IN (SELECT person_id FROM raised WHERE outcome IS NOT NULL)
    """


def home_visits(con: duckdb.DuckDBPyConnection, as_of: date, settings: DeathCheckSettings) -> None:
    """Very old pensioners with no evidence for a long time, unless a death flag already covers them."""
    sql.run(con, "home_visits", _HOME_VISITS, {"as_of": as_of, "months": int(settings.home_visit_months), "age": int(settings.home_visit_age)})


_POST_DEATH_ACTIVITY = """
        CREATE OR REPLACE TEMP TABLE post_death AS
        SELECT d.person_id, r.rid, r.source, r.kind, CAST(r.occurred_at AS DATE) AS seen_on, l.band,
               CASE WHEN r.kind = 'strong' OR (r.kind IN ('face', 'in_person') AND coalesce(r.passed, true))
                    THEN 'strong' ELSE 'weak' END AS strength
        FROM deaths d
        JOIN links l ON l.person_id = d.person_id
        JOIN records r ON r.rid = l.rid
        WHERE r.kind <> 'death' AND l.band IN ('auto', 'review') AND CAST(r.occurred_at AS DATE) > d.death_date
    """


def _post_death_activity(con: duckdb.DuckDBPyConnection) -> None:
    """Records resolved (auto or review band) to a dead person and dated after the death."""
    sql.run(con, "post_death_activity", _POST_DEATH_ACTIVITY)


# Strong evidence `e` that doubts the date, not the death: on or after the earliest report's day and not after the
# death date chosen (later is activity after death), while some register dates the death later still (strong
# evidence on the day every register gives is a death in hospital, not a doubt).
_ALIVE_BEFORE = ("e.seen_on >= d.first_reported AND e.seen_on <= d.death_date "
                 "AND e.seen_on < d.last_reported")


def _death_facts(con: duckdb.DuckDBPyConnection, as_of: date, settings: DeathCheckSettings) -> None:
    create_payments_macro(con)
    sql.run(con, "death_facts", sql.compose(_DEATH_FACTS, alive_before=_ALIVE_BEFORE),
            {"as_of": as_of, "payment_day": int(settings.payment_day)})


# {alive_before}: _ALIVE_BEFORE
_DEATH_FACTS = """
        CREATE OR REPLACE TEMP TABLE death_facts AS
        WITH activity AS (
            SELECT person_id,
                   count(*) FILTER (WHERE strength = 'strong') AS strong_after,
                   min(seen_on) FILTER (WHERE strength = 'strong') AS first_strong,
                   string_agg(DISTINCT source, ',' ORDER BY source) FILTER (WHERE strength = 'strong')
                     AS strong_sources,
                   count(*) FILTER (WHERE strength = 'weak') AS weak_after,
                   max(seen_on) FILTER (WHERE strength = 'weak') AS last_weak,
                   string_agg(DISTINCT source, ',' ORDER BY source) FILTER (WHERE strength = 'weak')
                     AS weak_sources
            FROM post_death GROUP BY person_id),
        reports AS (
            SELECT person_id, string_agg(source || ' ' || CAST(death_date AS VARCHAR)
                                         || CASE WHEN identity_mismatch THEN ' (identity differs)' ELSE '' END,
                                         '; ' ORDER BY death_date, source) AS report_list
            FROM death_reports_auto GROUP BY person_id),
        alive_before AS (  -- strong evidence from the earliest report's day up to the death date chosen
            SELECT d.person_id, count(*) AS alive_between, max(e.seen_on) AS last_alive,
                   string_agg(DISTINCT e.source, ',' ORDER BY e.source) AS alive_sources
            FROM deaths d JOIN death_strong e USING (person_id)
            WHERE {alive_before} GROUP BY d.person_id)
        SELECT d.*, g.county_code, coalesce(g.monthly_pension, 0.0) AS monthly_pension,
               payments_between(d.death_date, $as_of, $payment_day) AS months_paid,
               round(payments_between(d.death_date, $as_of, $payment_day) * coalesce(g.monthly_pension, 0.0), 2)
                 AS overpayment,
               coalesce(a.strong_after, 0) AS strong_after, a.first_strong, a.strong_sources,
               coalesce(a.weak_after, 0) AS weak_after, a.last_weak, a.weak_sources, p.report_list,
               coalesce(b.alive_between, 0) AS alive_between, b.last_alive, b.alive_sources,
               CASE WHEN coalesce(a.strong_after, 0) > 0 THEN 'activity_after_death'
                    WHEN d.identity_unclear THEN 'register_disagreement'
                    WHEN d.confirmed THEN 'confirmed_death'
                    WHEN d.conflict THEN 'register_disagreement'
                    ELSE 'unconfirmed_death' END AS primary_kind
        FROM deaths d JOIN registry g USING (person_id)
        LEFT JOIN activity a USING (person_id) LEFT JOIN reports p USING (person_id)
        LEFT JOIN alive_before b USING (person_id)
"""


_PRIMARY = """
    INSERT INTO raised
    SELECT primary_kind || ':' || person_id || ':' || CAST(death_date AS VARCHAR), person_id, primary_kind,
           CASE primary_kind WHEN 'activity_after_death' THEN 'critical' WHEN 'confirmed_death' THEN 'high'
                ELSE 'medium' END,
           CASE primary_kind
             WHEN 'activity_after_death' THEN format(
               'Death on {} reported ({}), but {} strong or passed certification record(s) after it, first on {} '
               || 'from {}. Wrong register entry or identity misuse: review before any status change; if the death '
               || 'is real, {} payment(s) after it make {:.2f} yuan overpaid.',
               death_date, report_list, strong_after, first_strong, strong_sources, months_paid, overpayment)
             WHEN 'confirmed_death' THEN format(
               'Death on {} confirmed ({}). {} monthly payment(s) of {:.2f} yuan made after the death: '
               || 'overpayment {:.2f} yuan. Period ended; suspend payment and recover the overpayment.',
               death_date, report_list, months_paid, monthly_pension, overpayment)
             WHEN 'register_disagreement' THEN format(
               'Death registers disagree on the date (tolerance {} days) or the identity: {}. '
               || 'Payment held; if the death on {} is real, {:.2f} yuan overpaid.',
               $tolerance, report_list, death_date, overpayment)
             ELSE format(
               'Death on {} reported only by {}: not confirmed (needs {}). '
               || 'Payment held pending review; if real, {:.2f} yuan overpaid.',
               death_date, report_list, $needs, overpayment)
           END,
           overpayment, NULL, county_code,
           CASE WHEN primary_kind = 'confirmed_death' THEN 'deceased' ELSE 'review' END
    FROM death_facts
"""

_SECONDARY = """
    INSERT INTO raised
    SELECT 'weak_activity_after_death:' || person_id || ':' || CAST(death_date AS VARCHAR), person_id,
           'weak_activity_after_death', 'high',
           format('{} weak record(s) after the reported death on {} (sources {}, last on {}): possible fraudulent '
                  || 'claim or use of the card, phone or account.', weak_after, death_date, weak_sources, last_weak),
           overpayment, NULL, county_code, NULL
    FROM death_facts WHERE weak_after > 0
    UNION ALL
    SELECT 'register_disagreement:' || person_id || ':' || CAST(death_date AS VARCHAR), person_id,
           'register_disagreement', CASE WHEN conflict OR identity_mismatch THEN 'medium' ELSE 'low' END,
           concat_ws(' ',
               CASE WHEN conflict OR identity_mismatch THEN format(
                   'Death registers disagree on the date or the identity: {}. The death on {} stands on the '
                   || 'agreeing reports.', report_list, death_date) END,
               CASE WHEN alive_between > 0 THEN format(
                   'Reported dead from {} ({}), but {} strong record(s) up to {} (sources {}) show the person alive '
                   || 'after that; the death is dated {} by {}. Check the date of death only.',
                   first_reported, report_list, alive_between, last_alive, alive_sources, death_date,
                   anchored_by) END),
           0.0, NULL, county_code, NULL
    FROM death_facts
    WHERE (conflict OR identity_mismatch OR alive_between > 0) AND primary_kind <> 'register_disagreement'
"""

_UNCERTAIN_LINKS = """
    INSERT INTO raised
    SELECT 'uncertain_death_link:' || r.person_id || ':' || min(r.source || '/' || r.record_id), r.person_id,
           'uncertain_death_link', 'medium',
           format('Death record(s) {} may be this person (link probability {:.2f}), but the link is not certain. '
                  || 'Check the identity; payment held.',
                  string_agg(r.source || '/' || r.record_id || ' dated ' || CAST(r.death_date AS VARCHAR), ', '
                             ORDER BY r.source, r.record_id),
                  max(r.match_probability)),
           0.0, NULL, any_value(g.county_code), 'review'
    FROM death_reports r JOIN registry g USING (person_id)
    WHERE r.band = 'review' AND r.person_id NOT IN (SELECT person_id FROM deaths)
    GROUP BY r.person_id
"""

_POSSIBLE_DEATH = """
        CREATE OR REPLACE TEMP TABLE possible_death AS
        SELECT c.person_id, r.rid, r.source, r.record_id, CAST(r.occurred_at AS DATE) AS death_date,
               c.match_probability
        FROM records r JOIN links l USING (rid) JOIN link_candidates c USING (rid)
        WHERE r.kind = 'death' AND r.occurred_at IS NOT NULL AND l.person_id IS NULL
          AND c.person_id IN (SELECT person_id FROM registry)
          AND c.person_id NOT IN (SELECT person_id FROM death_reports)
        QUALIFY rank() OVER (PARTITION BY r.rid ORDER BY c.match_probability DESC) = 1
    """


def _possible_death_records(con: duckdb.DuckDBPyConnection) -> None:
    """``possible_death_record`` flags: unlinked death records whose best candidate lies below the review band."""
    sql.run(con, "possible_death", _POSSIBLE_DEATH)
    sql.run(con, "possible_death_records", _POSSIBLE_DEATH_RECORDS)


# The hold: a certification on evidence dated after the earliest such record waits for the reviewer; one on earlier
# evidence stands (the record does not say the person was dead before it).
_POSSIBLE_DEATH_RECORDS = """
    INSERT INTO raised
    SELECT 'possible_death_record:' || p.person_id || ':' || min(p.source || '/' || p.record_id), p.person_id,
           'possible_death_record', 'medium',
           format('Death record(s) {} may be this person, but the link is weak (probability {:.2f}, below the review '
                  || 'band). Check the identity; no certification on evidence after {} until decided.',
                  string_agg(p.source || '/' || p.record_id || ' dated ' || CAST(p.death_date AS VARCHAR), ', '
                             ORDER BY p.source, p.record_id),
                  max(p.match_probability), min(p.death_date)),
           0.0, NULL, any_value(g.county_code),
           CASE WHEN bool_or(v.status = 'certified' AND CAST(v.evidence_at AS DATE) > p.death_date) THEN 'review' END
    FROM possible_death p JOIN registry g USING (person_id) LEFT JOIN verdicts v USING (person_id)
    GROUP BY p.person_id
"""

# {alive_before}: _ALIVE_BEFORE
_DEATH_CITATIONS = """
    INSERT INTO cited
    SELECT f.flag_id, r.rid FROM raised f JOIN death_reports r USING (person_id)
    WHERE f.kind IN ('confirmed_death', 'activity_after_death', 'register_disagreement', 'unconfirmed_death',
                     'weak_activity_after_death', 'uncertain_death_link')
      AND (r.band = 'auto' OR f.kind = 'uncertain_death_link')
    UNION ALL
    SELECT f.flag_id, p.rid FROM raised f JOIN post_death p USING (person_id)
    WHERE (f.kind = 'weak_activity_after_death' AND p.strength = 'weak')
       OR (f.kind = 'activity_after_death' AND p.strength = 'strong')
    UNION ALL
    SELECT f.flag_id, e.rid FROM raised f JOIN deaths d USING (person_id) JOIN death_strong e USING (person_id)
    WHERE f.kind = 'register_disagreement' AND {alive_before}
    UNION ALL
    SELECT f.flag_id, p.rid FROM raised f JOIN possible_death p USING (person_id)
    WHERE f.kind = 'possible_death_record'
"""
