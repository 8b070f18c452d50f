"""Notices from final verdicts: who gets which kind, on which channel, in the operator's words."""

from __future__ import annotations

from datetime import date

import pytest

from silentcert.graph.errors import InvalidInput
from silentcert.services.liveness.notices import build_notices, template_sql
from silentcert.services.liveness.score_stage import score_round
from silentcert.services.liveness.settings import LivenessSettings

AS_OF = date(2021, 10, 31)


def _round(con, province, settings=LivenessSettings()):
    province.load(con)
    score_round(con, AS_OF, settings)


def _notices(con) -> dict:
    return {(p, k): (c, r, m) for p, k, c, r, m in con.execute("SELECT person_id, kind, channel, recipient, message FROM notices").fetchall()}


def test_the_three_kinds_one_per_person_per_kind(con, province):
    province.person("NEW", name="李四", phone="13811112222")
    province.record("NEW", "vaccination", "strong", date(2021, 9, 1))
    province.record("NEW", "rail", "strong", date(2021, 9, 2))
    province.weak("NEW", "telecom", date(2021, 10, 1))
    province.person("WEAKNEW", phone="13833334444")
    province.weak("WEAKNEW", "telecom", date(2021, 10, 20))
    province.weak("WEAKNEW", "card_spending", date(2021, 10, 21))
    province.person("NOPHONE", phone=None)
    province.record("NOPHONE", "vaccination", "strong", date(2021, 9, 1))
    province.person("STILL", certified_until=date(2022, 8, 1))              # comfortably certified before
    province.record("STILL", "vaccination", "strong", date(2021, 10, 1))
    province.person("EXP", certified_until=date(2021, 12, 1), name="王五")  # expiring, nothing new
    province.person("EXPLETTER", certified_until=date(2021, 12, 1), phone=None)
    province.person("LATE", certified_until=date(2021, 9, 1), unit_id="U77")
    province.person("LATENOUNIT", certified_until=date(2021, 6, 1), phone=None, unit_id=None)
    _round(con, province)
    stats = build_notices(con, AS_OF, "2021-10", LivenessSettings())
    got = _notices(con)
    assert set(got) == {("NEW", "exempt"), ("WEAKNEW", "exempt"), ("EXP", "reminder"),
                        ("EXPLETTER", "reminder"), ("LATE", "overdue"), ("LATENOUNIT", "overdue")}
    assert stats["notices"] == {"exempt": 2, "reminder": 2, "overdue": 2}
    assert got[("NEW", "exempt")][:2] == ("sms", "13811112222")
    assert "李四" in got[("NEW", "exempt")][2] and "2022年9月2日" in got[("NEW", "exempt")][2]
    assert got[("EXP", "reminder")][:2] == ("sms", "13800000000")
    assert "王五" in got[("EXP", "reminder")][2] and "2021年12月1日" in got[("EXP", "reminder")][2]
    assert got[("EXPLETTER", "reminder")][:2] == ("letter", "EXPLETTER")
    assert got[("LATE", "overdue")][:2] == ("sms+unit", "13800000000;U77")
    assert got[("LATENOUNIT", "overdue")][:2] == ("letter", "LATENOUNIT")
    dupes = con.execute("SELECT count(*) FROM (SELECT person_id, kind FROM notices GROUP BY ALL "
                        "HAVING count(*) > 1)").fetchone()[0]
    assert dupes == 0


def test_no_notices_to_deceased_or_review(con, province):
    province.person("DEAD", certified_until=date(2021, 6, 1))
    province.person("REV")
    province.record("REV", "vaccination", "strong", date(2021, 9, 1))
    _round(con, province)
    con.execute("UPDATE verdicts SET status = 'deceased', period_state = 'ended' WHERE person_id = 'DEAD'")
    con.execute("UPDATE verdicts SET status = 'review' WHERE person_id = 'REV'")
    build_notices(con, AS_OF, "2021-10", LivenessSettings())
    assert con.execute("SELECT count(*) FROM notices").fetchone()[0] == 0


def test_operator_templates_are_used(con, province, tmp_path):
    for kind in ("exempt", "reminder", "overdue"):
        (tmp_path / f"{kind}.txt").write_text(f"[{kind}] {{name}} {{person_id}} {{round_id}} {{period_end}} "
                                              f"{{{{literal}}}} it's\n", encoding="utf-8")
    province.person("LATE", certified_until=date(2021, 9, 1), name="赵六")
    _round(con, province)
    build_notices(con, AS_OF, "2021-10", LivenessSettings(templates_dir=tmp_path))
    message = con.execute("SELECT message FROM notices").fetchone()[0]
    assert message == "[overdue] 赵六 LATE 2021-10 2021年9月1日 {literal} it's"


@pytest.mark.parametrize("template", ["{nmae}", "{period_end:>10}", "{name!r}", "{name"])
def test_bad_template_fields_are_rejected(template):
    with pytest.raises(InvalidInput):
        template_sql(template)


def test_missing_template_file_is_named(con, province, tmp_path):
    province.person("A")
    _round(con, province)
    with pytest.raises(InvalidInput, match="exempt.txt"):
        build_notices(con, AS_OF, "2021-10", LivenessSettings(templates_dir=tmp_path))


def test_likely_lapsers_are_reminded_early_and_reminders_go_by_risk(con, province):
    province.person("EXP_SAFE", certified_until=date(2021, 12, 1))    # expiring: reminded whatever the forecast
    province.person("EXP_RISKY", certified_until=date(2021, 12, 20))
    province.person("EARLY", certified_until=date(2022, 2, 1))        # 93 days ahead, likely to lapse
    province.person("EARLY_SAFE", certified_until=date(2022, 2, 1))   # as far ahead, unlikely to
    province.person("FAR", certified_until=date(2022, 6, 1))          # likely to lapse, but not for 7 months
    _round(con, province)
    con.execute("CREATE TABLE forecast AS SELECT * FROM (VALUES ('EXP_SAFE', 0.05), ('EXP_RISKY', 0.7), "
                "('EARLY', 0.9), ('EARLY_SAFE', 0.2), ('FAR', 0.95)) t(person_id, lapse_probability)")
    stats = build_notices(con, AS_OF, "2021-10", LivenessSettings())
    reminders = con.execute("SELECT person_id, priority FROM notices WHERE kind = 'reminder' "
                            "ORDER BY priority").fetchall()
    assert reminders == [("EARLY", 1), ("EXP_RISKY", 2), ("EXP_SAFE", 3)]
    assert stats["early_reminders"] == 1
    assert con.execute("SELECT count(*) FROM notices WHERE kind <> 'reminder' AND priority IS NOT NULL"
                       ).fetchone()[0] == 0


def test_without_a_forecast_reminders_go_by_the_expiring_window(con, province):
    province.person("EXP", certified_until=date(2021, 12, 1))
    province.person("LATER", certified_until=date(2021, 11, 20))
    province.person("EARLY", certified_until=date(2022, 2, 1))
    _round(con, province)
    build_notices(con, AS_OF, "2021-10", LivenessSettings())
    assert con.execute("SELECT person_id, priority FROM notices WHERE kind = 'reminder' ORDER BY priority"
                       ).fetchall() == [("LATER", 1), ("EXP", 2)]
