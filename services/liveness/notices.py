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

from silentcert.graph import sql
from silentcert.graph.errors import InvalidInput
from silentcert.services.liveness.periods import write_previous_ends
from silentcert.services.liveness.settings import LivenessSettings

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

# Per kind: who gets it, the channel and the recipient. {exempt}, {reminder} and {overdue} are the messages, each a
# template compiled by template_sql (its literal text bound as parameters, its fields the PLACEHOLDERS). Reminders
# also go, up to $early_days before the end, to people the lapse forecast (notice_lapse_forecast) finds likely to lapse, and
# are numbered in the order they are sent: the likeliest to lapse first, then the nearest end.
_NOTICES = """
CREATE OR REPLACE TABLE notices AS
WITH c AS (
    SELECT v.person_id, v.status, v.method, v.certified_until, v.evidence_at, v.period_state,
           g.name, g.phone, g.unit_id, p.prev_end, f.lapse_probability
    FROM verdicts v JOIN registry g USING (person_id) LEFT JOIN notice_previous_ends p USING (person_id)
    LEFT JOIN notice_lapse_forecast f USING (person_id)
    WHERE v.status IN ('certified', 'uncertified')
), n AS (
    SELECT person_id, 'exempt' AS kind, 'sms' AS channel, phone AS recipient, {exempt} AS message,
           lapse_probability, certified_until FROM c
    WHERE status = 'certified' AND method IN ('strong', 'weak') AND phone IS NOT NULL
      AND (prev_end IS NULL OR prev_end < $as_of::DATE + $expiring_days)
    UNION ALL
    SELECT person_id, 'reminder' AS kind, CASE WHEN phone IS NULL THEN 'letter' ELSE 'sms' END AS channel,
           coalesce(phone, person_id) AS recipient, {reminder} AS message, lapse_probability, certified_until FROM c
    WHERE status = 'certified' AND ((method = 'carried' AND period_state = 'expiring')
          OR (certified_until <= $as_of::DATE + $early_days AND lapse_probability >= $early_probability))
    UNION ALL
    SELECT person_id, 'overdue' AS kind,
           CASE WHEN phone IS NULL THEN 'letter' ELSE 'sms' END || CASE WHEN unit_id IS NULL THEN '' ELSE '+unit' END
               AS channel,
           coalesce(phone, person_id) || CASE WHEN unit_id IS NULL THEN '' ELSE ';' || unit_id END AS recipient,
           {overdue} AS message, lapse_probability, certified_until FROM c
    WHERE status = 'uncertified' AND period_state IN ('overdue', 'suspended')
)
SELECT person_id, kind, channel, recipient, message,
       CASE WHEN kind = 'reminder' THEN row_number() OVER (PARTITION BY kind ORDER BY
            lapse_probability DESC NULLS LAST, certified_until, person_id) END AS priority
FROM n ORDER BY person_id, kind
"""
# The lapse forecast (lapse_forecast.py) when the round made one; without it reminders go by the expiring window.
_FORECAST_OF_ROUND = "CREATE OR REPLACE TEMP TABLE notice_lapse_forecast AS SELECT person_id, lapse_probability FROM forecast"
_NO_FORECAST = ("CREATE OR REPLACE TEMP TABLE notice_lapse_forecast AS "
                "SELECT NULL::VARCHAR AS person_id, NULL::DOUBLE AS lapse_probability WHERE false")
_DROP_PREVIOUS = "DROP TABLE notice_previous_ends"
_DROP_FORECAST = "DROP TABLE notice_lapse_forecast"
_NOTICE_COUNTS = "SELECT kind, channel, count(*) FROM notices GROUP BY ALL ORDER BY ALL"
_EARLY = """
SELECT count(*) FROM notices n JOIN verdicts v USING (person_id)
WHERE n.kind = 'reminder' AND v.certified_until > $as_of::DATE + $expiring_days
"""


def build_notices(con: duckdb.DuckDBPyConnection, as_of: date, round_id: str,
                  settings: LivenessSettings) -> dict[str, Any]:
    """Write ``notices(person_id, kind, channel, recipient, message, priority)`` from the final verdicts; returns
    counts. ``priority`` orders the reminders (1 is sent first), empty for the other kinds."""
    params: dict[str, Any] = {"as_of": as_of, "round_id": round_id, "expiring_days": settings.expiring_days,
                              "early_days": settings.early_reminder_days,
                              "early_probability": settings.early_reminder_probability}
    messages = {}
    for kind in KINDS:
        messages[kind], texts = template_sql(load_template(settings.templates_dir, kind), prefix=f"{kind}_text")
        params.update(texts)
    write_previous_ends(con, "notice_previous_ends")
    has_forecast = sql.has_table(con, "forecast", temporary=False)
    sql.run(con, "notice_forecast", _FORECAST_OF_ROUND if has_forecast else _NO_FORECAST)
    sql.run(con, "notices", _NOTICES.format(**messages), params)
    sql.run(con, "drop_notice_previous", _DROP_PREVIOUS)
    sql.run(con, "drop_notice_forecast", _DROP_FORECAST)
    rows = sql.fetchall(con, "notice_counts", _NOTICE_COUNTS)
    by_kind: dict[str, int] = {k: 0 for k in KINDS}
    for kind, _, n in rows:
        by_kind[kind] += int(n)
    early = sql.scalar(con, "early_reminders", _EARLY, {"as_of": as_of, "expiring_days": settings.expiring_days})
    return {"notices": by_kind, "early_reminders": int(early),
            "by_channel": [{"kind": k, "channel": c, "count": int(n)} for k, c, n in rows]}


def load_template(directory: Path, kind: str) -> str:
    """The text of one template (trailing newline removed)."""
    path = Path(directory) / f"{kind}.txt"
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise InvalidInput(f"notice template {path} cannot be read: {exc.strerror}", field="templates_dir") from exc


def template_sql(template: str, prefix: str = "text") -> tuple[str, dict[str, str]]:
    """Compile a str.format template into a SQL string expression and the parameters it binds: each literal part
    of the template is a parameter ``$<prefix>_<n>``, each field the expression of :data:`PLACEHOLDERS`.
    Unknown or formatted fields are an error."""
    parts = []
    texts: dict[str, str] = {}
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidInput(f"notice template is malformed: {exc}", field="templates_dir") from exc
    for literal, field, spec, conversion in parsed:
        if literal:
            name = f"{prefix}_{len(texts)}"
            texts[name] = literal
            parts.append(f"${name}::VARCHAR")
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            raise InvalidInput(f"notice template field {{{field}}} is not one of "
                               f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)} (no format specs)",
                               field="templates_dir")
        parts.append(PLACEHOLDERS[field])
    return (" || ".join(parts) if parts else "''"), texts
