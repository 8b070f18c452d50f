"""The round's notices: "you are exempt", "your period is expiring", "your period is overdue".

Runs after the death check has amended ``verdicts``: deceased and review people get nothing. At most one notice
per person per kind per round (``notices`` has one row per (person_id, kind)). The overdue notice goes to the
person *and* their unit or community as one notice with two addressees: channel ``sms+unit`` (or
``letter+unit``), recipient ``<phone or person_id>;<unit_id>``; without a unit_id it is plain ``sms``/``letter``.
A ``letter`` recipient is the person_id: the letter goes to the address the agency holds for the account.

Reminders also go, before the expiring window, to people the lapse forecast (lapse_forecast.py) finds likely to
lapse; ``priority`` orders all reminders by that forecast, the likeliest to lapse first.

Message text comes from operator-editable templates (``templates_dir``/exempt.txt, reminder.txt, overdue.txt),
Python ``str.format`` style with the placeholders of :data:`PLACEHOLDERS`. Templates are compiled into one SQL
string expression, so a province's notices are rendered set-wise, not per row in Python.
"""

from __future__ import annotations

import string
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from graph.errors import InvalidInput
from services.liveness.periods import previous_ends_sql
from services.liveness.settings import LivenessSettings

KINDS = ("exempt", "reminder", "overdue")
_CN_DATE = "'%Y年%-m月%-d日'"

#: placeholder -> SQL expression over the notice candidates (columns of ``_CANDIDATES``).
PLACEHOLDERS = {
    "name": "coalesce(name, '')",
    "person_id": "person_id",
    "date": f"strftime($as_of::DATE, {_CN_DATE})",
    "period_end": f"coalesce(strftime(certified_until, {_CN_DATE}), '无')",
    "evidence_date": f"coalesce(strftime(evidence_at, {_CN_DATE}), '')",
    "unit_id": "coalesce(unit_id, '')",
    "round_id": "$round_id",
}

_CANDIDATES = """
SELECT v.person_id, v.status, v.method, v.certified_until, v.evidence_at, v.period_state,
       g.name, g.phone, g.unit_id, p.prev_end, f.lapse_probability
FROM verdicts v JOIN registry g USING (person_id) LEFT JOIN ({previous}) p USING (person_id)
LEFT JOIN ({forecast}) f USING (person_id)
WHERE v.status IN ('certified', 'uncertified')
"""

# The lapse forecast (lapse_forecast.py) when the round made one; without it reminders go by the expiring window.
_FORECAST = "SELECT person_id, lapse_probability FROM forecast"
_NO_FORECAST = "SELECT NULL::VARCHAR AS person_id, NULL::DOUBLE AS lapse_probability WHERE false"

# Reminders are sent in this order: the likeliest to lapse first, then the nearest end.
_PRIORITY = ("CASE WHEN kind = 'reminder' THEN row_number() OVER (PARTITION BY kind ORDER BY "
             "lapse_probability DESC NULLS LAST, certified_until, person_id) END")

# kind -> (who gets it, channel, recipient)
_RULES = {
    "exempt": ("status = 'certified' AND method IN ('strong', 'weak') AND phone IS NOT NULL "
               "AND (prev_end IS NULL OR prev_end < $as_of::DATE + $expiring_days)",
               "'sms'", "phone"),
    "reminder": ("status = 'certified' AND ((method = 'carried' AND period_state = 'expiring') OR "
                 "(certified_until <= $as_of::DATE + $early_days "
                 "AND lapse_probability >= $early_probability))",
                 "CASE WHEN phone IS NULL THEN 'letter' ELSE 'sms' END", "coalesce(phone, person_id)"),
    "overdue": ("status = 'uncertified' AND period_state IN ('overdue', 'suspended')",
                "CASE WHEN phone IS NULL THEN 'letter' ELSE 'sms' END "
                "|| CASE WHEN unit_id IS NULL THEN '' ELSE '+unit' END",
                "coalesce(phone, person_id) || CASE WHEN unit_id IS NULL THEN '' ELSE ';' || unit_id END"),
}


def build_notices(con: duckdb.DuckDBPyConnection, as_of: date, round_id: str,
                  settings: LivenessSettings) -> dict[str, Any]:
    """Write ``notices(person_id, kind, channel, recipient, message, priority)`` from the final verdicts; returns
    counts. ``priority`` orders the reminders (1 is sent first), empty for the other kinds."""
    selects = [_select(kind, template_sql(load_template(settings.templates_dir, kind))) for kind in KINDS]
    forecast = _FORECAST if _has_table(con, "forecast") else _NO_FORECAST
    candidates = _CANDIDATES.format(previous=previous_ends_sql(con), forecast=forecast)
    sql = (f"CREATE OR REPLACE TABLE notices AS WITH c AS ({candidates}) "
           f"SELECT person_id, kind, channel, recipient, message, {_PRIORITY} AS priority "
           f"FROM ({' UNION ALL '.join(selects)}) ORDER BY person_id, kind")
    params = {"as_of": as_of, "round_id": round_id, "expiring_days": settings.expiring_days,
              "early_days": settings.early_reminder_days, "early_probability": settings.early_reminder_probability}
    con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
    rows = con.execute("SELECT kind, channel, count(*) FROM notices GROUP BY ALL ORDER BY ALL").fetchall()
    by_kind: dict[str, int] = {k: 0 for k in KINDS}
    for kind, _, n in rows:
        by_kind[kind] += int(n)
    early = con.execute(_EARLY, {"as_of": as_of, "expiring_days": settings.expiring_days}).fetchone()[0]
    return {"notices": by_kind, "early_reminders": int(early),
            "by_channel": [{"kind": k, "channel": c, "count": int(n)} for k, c, n in rows]}


_EARLY = """
SELECT count(*) FROM notices n JOIN verdicts v USING (person_id)
WHERE n.kind = 'reminder' AND v.certified_until > $as_of::DATE + $expiring_days
"""


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = $name AND NOT temporary",
                            {"name": name}).fetchall())


def _select(kind: str, message_sql: str) -> str:
    where, channel, recipient = _RULES[kind]
    return (f"SELECT person_id, '{kind}' AS kind, {channel} AS channel, {recipient} AS recipient, "
            f"{message_sql} AS message, lapse_probability, certified_until FROM c WHERE {where}")


def load_template(directory: Path, kind: str) -> str:
    """The text of one template (trailing newline removed)."""
    path = Path(directory) / f"{kind}.txt"
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise InvalidInput(f"notice template {path} cannot be read: {exc.strerror}", field="templates_dir") from exc


def template_sql(template: str) -> str:
    """Compile a str.format template into a SQL string expression; unknown or formatted fields are an error."""
    parts = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidInput(f"notice template is malformed: {exc}", field="templates_dir") from exc
    for literal, field, spec, conversion in parsed:
        if literal:
            parts.append("'" + literal.replace("'", "''") + "'")
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            raise InvalidInput(f"notice template field {{{field}}} is not one of "
                               f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)} (no format specs)",
                               field="templates_dir")
        parts.append(PLACEHOLDERS[field])
    return " || ".join(parts) if parts else "''"
