"""Time-aware weak certification: a certification dated D rests only on the weak records dated on or after D."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from silentcert.graph.model import EvidenceEdge
from silentcert.services.liveness.ratios import LikelihoodRatio
from silentcert.services.liveness.score_stage import score_round
from silentcert.services.liveness.scoring import weak_score
from silentcert.services.liveness.settings import LivenessSettings

AS_OF = date(2021, 10, 31)
SETTINGS = LivenessSettings()
# what a heavy world's round estimates: relatives keep the card, phone and bank book going, never see the doctor
RATIOS = {s: LikelihoodRatio(s, a, d, seen_dead=n) for s, a, d, n in (
    ("card_spending", 0.41, 0.35, 300), ("telecom", 0.27, 0.19, 150), ("bank_counter", 0.24, 0.39, 300),
    ("outpatient", 0.44, 0.001, 0))}
SOURCES = tuple(RATIOS)


def edge(source: str, day: date, n: int = 0, p: float = 0.99) -> tuple[EvidenceEdge, float]:
    return EvidenceEdge(source, "weak", f"{source}-{day}-{n}", datetime(day.year, day.month, day.day, 10), p,
                        "splink", "2021-10"), p


def test_the_certification_is_dated_on_the_first_day_of_the_latest_window_that_certifies():
    weak = [edge("outpatient", date(2021, 3, 1)), edge("card_spending", date(2021, 6, 1)),
            edge("card_spending", date(2021, 9, 1)), edge("telecom", date(2021, 10, 1))]
    score = weak_score(weak, RATIOS, SETTINGS, SETTINGS.certify_log_odds)
    # card and phone after March reach nothing: relatives use them; the window from the doctor's visit certifies
    assert score.certifies and score.window_from == date(2021, 3, 1)
    assert score.dated_by == ("outpatient", "outpatient-2021-03-01-0")
    assert score.seen_sources == ("card_spending", "outpatient", "telecom")


def test_relatives_sources_alone_do_not_certify_and_the_explanation_says_so(con, province):
    for i in range(200):  # alive, strong-certified, weak sources used independently
        pid = province.person(f"L{i}")
        province.record(pid, "vaccination", "strong", date(2021, 8, 1))
        for j, source in enumerate(("card_spending", "telecom", "outpatient")):
            if (i >> j) & 1:
                province.weak(pid, source, date(2021, 9, 1))
    for i in range(40):  # labelled dead: half the families keep card and phone going
        pid = province.person(f"X{i}")
        province.record(pid, "civil_deaths", "death", date(2021, 2, 1))
        province.record(pid, "police_deaths", "death", date(2021, 2, 1))
        province.weak(pid, "outpatient", date(2021, 1, 10))  # genuine, before the death
        if i % 2 == 0:
            province.weak(pid, "card_spending", date(2021, 5, 1), date(2021, 9, 1))
            province.weak(pid, "telecom", date(2021, 6, 1), date(2021, 10, 1))
    province.person("CARD")  # card and phone only: what relatives produce
    province.weak("CARD", "card_spending", date(2021, 7, 1), date(2021, 10, 1))
    province.weak("CARD", "telecom", date(2021, 8, 1))
    province.person("DOC")  # a doctor's visit and the card
    province.weak("DOC", "outpatient", date(2021, 4, 2))
    province.weak("DOC", "card_spending", date(2021, 10, 2))
    province.load(con)
    stats = score_round(con, AS_OF, SETTINGS)
    rows = dict(con.execute("SELECT person_id, explanation FROM verdicts WHERE person_id IN ('CARD', 'DOC')")
                .fetchall())
    assert rows["CARD"].startswith("none: only sources that relatives of deceased pensioners were seen using "
                                   "this round (card_spending, telecom)")
    assert rows["DOC"].startswith("weak: 2 sources seen from 2021-04-02 on (card_spending, outpatient)")
    assert "dated by outpatient record" in rows["DOC"]
    # no labelled dead is certified after the death at the round's threshold, and the table says where it sits
    points = stats["weak_operating_points"]
    mine = [p for p in points if p["this_round"]]
    assert len(mine) == 1 and mine[0]["dead_certified_after_death"] == 0
    dead = [p["dead_certified_after_death"] for p in points]
    assert dead == sorted(dead, reverse=True) and dead[0] > 0  # lower thresholds let relatives through


def test_a_death_only_one_register_knows_of_does_not_label_the_dead(con, province):
    for i in range(10):
        pid = province.person(f"X{i}")
        province.record(pid, "village_deaths", "death", date(2021, 3, 1))
        province.weak(pid, "telecom", date(2021, 6, 1))
    province.load(con)
    stats = score_round(con, AS_OF, SETTINGS)
    assert stats["likelihood_ratios"]["telecom"]["n_dead"] == 0
    assert con.execute("SELECT dead_labelled FROM weak_calibration").fetchone()[0] == 0


_DEATH = date(2021, 5, 1)
_records = st.lists(st.tuples(st.sampled_from(SOURCES), st.integers(0, 400), st.sampled_from([0.6, 0.8, 0.99])),
                    max_size=8)


def _edges(rows, before: bool) -> list[tuple[EvidenceEdge, float]]:
    """Records before the death (offset days back from the day before it) or after it (days on from the day after)."""
    out = []
    for n, (source, offset, p) in enumerate(rows):
        day = _DEATH - timedelta(days=1 + offset % 180) if before else _DEATH + timedelta(days=1 + offset % 180)
        out.append(edge(source, day, n + (0 if before else 100), p))
    return out


def _date(weak, threshold: float) -> date | None:
    score = weak_score(weak, RATIOS, SETTINGS, threshold)
    return score.window_from if score.certifies else None


@hsettings(max_examples=300, deadline=None)
@given(own=_records, relatives=_records, threshold=st.floats(3.0, 12.0))
def test_relatives_activity_after_a_death_never_moves_a_certification_across_it(own, relatives, threshold):
    """Adding relatives' post-death activity to a dead person: a certification dated before the death stays
    dated before the death unless the relatives' records alone reach the threshold (what calibration bounds), and
    it never moves earlier than the person's own records alone date it."""
    mine, theirs = _edges(own, before=True), _edges(relatives, before=False)
    alone, added, relatives_only = _date(mine, threshold), _date(mine + theirs, threshold), _date(theirs, threshold)
    if relatives_only is None:
        assert added is None or added < _DEATH
    else:
        assert added == relatives_only  # dated after the death only on a window of relatives' records alone
    if alone is not None:
        assert added is not None and added >= alone


def test_the_report_section_marks_this_rounds_threshold():
    from silentcert.services.rounds.report import weak_operating_section

    points = [{"threshold_log_odds": t, "living_certified": 90 + k, "weak_only_certified": k, "living": 100,
               "living_certified_share": (90 + k) / 100, "labelled_dead": 50, "dead_certified_after_death": 5 - k,
               "dead_certified_share": (5 - k) / 50, "this_round": k == 2} for k, t in enumerate((3.0, 4.0, 4.595))]
    html = weak_operating_section({"operating_points": points})
    assert html.count("<section") == 1 and "Weak evidence: operating points" in html
    assert "<td>4.595 ← <span class=zh lang=zh-CN>本轮</span><span class=en lang=en>this round</span></td>" in html
    assert "<span class=en lang=en>3 of 50</span> (6.00%)" in html and "50 人中 3 人" in html
    assert weak_operating_section(None) == "" and weak_operating_section({"operating_points": []}) == ""
