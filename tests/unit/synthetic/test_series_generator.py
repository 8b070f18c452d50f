"""generate --months: consecutive monthly rounds of one province, and the series' truth."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from silentcert.synthetic.command import main
from silentcert.synthetic.series import generate_series, round_dates

FIRST = date(2021, 1, 31)
MONTHS = 5


def _rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding).lstrip("\ufeff"), newline="")))


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    out = tmp_path_factory.mktemp("series")
    summary = generate_series(3000, MONTHS, 5, FIRST, out)
    return out, summary


def _ids(out: Path) -> list[str]:
    return [r["round_id"] for r in json.loads((out / "truth" / "series.json").read_text())["rounds"]]


def _links(out: Path, rid: str) -> list[dict[str, str]]:
    return _rows(out / rid / "truth" / "links.csv")


def _as_of(out: Path, rid: str) -> date:
    return tomllib.loads((out / rid / "round.toml").read_text(encoding="utf-8"))["round"]["as_of"]


def test_month_ends_follow_a_month_end_and_days_are_clamped():
    assert round_dates(date(2021, 1, 31), 3) == [date(2021, 1, 31), date(2021, 2, 28), date(2021, 3, 31)]
    assert round_dates(date(2021, 1, 30), 2) == [date(2021, 1, 30), date(2021, 2, 28)]


def test_one_round_directory_a_month_with_its_round_file(series):
    out, summary = series
    assert _ids(out) == ["2021-01", "2021-02", "2021-03", "2021-04", "2021-05"]
    for rid in _ids(out):
        spec = tomllib.loads((out / rid / "round.toml").read_text(encoding="utf-8"))
        assert spec["round"]["id"] == rid and len(spec["sources"]) == 16
        assert {"persons.csv", "links.csv", "rings.csv", "world.json"} <= {p.name for p in (out / rid / "truth").iterdir()}
    assert [r[2] for r in summary.rounds] == sorted(r[2] for r in summary.rounds)  # joiners: the registry grows


def test_same_arguments_same_bytes(series, tmp_path):
    out, _ = series
    generate_series(3000, MONTHS, 5, FIRST, tmp_path)
    assert _digests(tmp_path) == _digests(out)


def test_evidence_is_a_rolling_year_and_a_record_keeps_its_bytes_from_round_to_round(series):
    out, _ = series
    for rid in _ids(out):
        as_of = _as_of(out, rid)
        moments = [datetime.fromisoformat(r["occurred_at"]).date() for r in _links(out, rid)
                   if r["source"] not in ("police", "civil_affairs", "health", "village")]
        assert max(moments) <= as_of and min(moments) > as_of - timedelta(days=365)
    january = set((out / "2021-01" / "evidence" / "card_spending.csv").read_bytes().splitlines()[1:])
    february = set((out / "2021-02" / "evidence" / "card_spending.csv").read_bytes().splitlines()[1:])
    assert len(january & february) > 0.85 * len(january)  # a month leaves the window, the rest is sent again as is


def test_death_registers_as_they_stand_with_late_reports_arriving_later(series):
    out, _ = series
    ids = _ids(out)
    seen = [{(r["source"], r["record_id"]) for r in _links(out, rid)
             if r["source"] in ("police", "civil_affairs", "health", "village")} for rid in ids]
    assert all(a <= b for a, b in itertools.pairwise(seen)) and len(seen[-1]) > len(seen[0])
    persons = _rows(out / "truth" / "persons.csv")
    late = [p for p in persons if p["late_death_report"] == "1" and p["death_reported_at"] <= "2021-05-31"
            and p["death_date"] >= "2021-01-01"]
    assert late, "no death reported late within the series"
    for person in late:
        death_round = next(rid for rid in ids if _as_of(out, rid).isoformat() >= person["death_date"])
        in_death_round = {r["person_id"] for r in _links(out, death_round) if r["source"] in
                          ("police", "civil_affairs", "health", "village")}
        assert person["person_id"] not in in_death_round


def test_joiners_enter_the_registry_in_their_round_certified_on_enrolment(series):
    out, _ = series
    ids = _ids(out)
    joiners = [p for p in _rows(out / "truth" / "persons.csv") if p["joins"] != ids[0]]
    assert joiners
    registries = {rid: {r["person_id"]: r for r in _rows(out / rid / "registry.csv")} for rid in ids}
    for person in joiners:
        k = ids.index(person["joins"])
        assert person["person_id"] not in registries[ids[k - 1]]
        assert registries[person["joins"]][person["person_id"]]["certified_until"] == \
            (_as_of(out, ids[k - 1]) + timedelta(days=365)).isoformat()


def test_a_new_phone_is_in_the_registry_when_the_agency_learns_it_and_on_the_telecom_records_after_the_change(series):
    out, _ = series
    ids = _ids(out)
    changed = [p for p in _rows(out / "truth" / "persons.csv") if p["change"] == "phone" and p["registry_learns"] == "1"]
    assert changed
    first = {r["person_id"]: r["phone"] for r in _rows(out / ids[0] / "registry.csv")}
    last = {r["person_id"]: r["phone"] for r in _rows(out / ids[-1] / "registry.csv")}
    moved = [p for p in changed if p["changed_at"] <= _as_of(out, ids[-1]).isoformat()]
    assert moved and all(first[p["person_id"]] != last[p["person_id"]] for p in moved)


def test_face_checks_between_rounds_and_visits_that_find_the_truth(series):
    out, _ = series
    ids = _ids(out)
    persons = {p["person_id"]: p for p in _rows(out / "truth" / "persons.csv")}
    checks = _rows(out / "truth" / "certifications.csv")
    assert checks and {c["passed"] for c in checks} == {"0", "1"}
    for check in checks:
        k = ids.index(check["after_round"])
        day = datetime.fromisoformat(check["occurred_at"]).date()
        assert _as_of(out, ids[k]) < day <= _as_of(out, ids[k + 1])
    visits = _rows(out / "truth" / "reviews.csv")
    assert {v["finding"] for v in visits} == {"alive", "dead"}
    for visit in visits:
        death = persons[visit["person_id"]]["death_date"]
        assert (visit["finding"] == "dead") == (death != "" and death <= visit["decided_at"])
        assert persons[visit["person_id"]]["death_reported_at"] <= _as_of(out, visit["after_round"]).isoformat()


def test_the_command_writes_a_series_and_refuses_a_bad_month_count(tmp_path, capsys):
    assert main(["generate", "--pensioners", "300", "--months", "2", "--as-of", "2021-01-31",
                 "--out", str(tmp_path), "--file-shapes", "messy", "--world", "heavy"]) == 0
    assert (tmp_path / "2021-02" / "deaths" / "village.xlsx").exists()
    assert json.loads((tmp_path / "truth" / "world.json").read_text())["name"] == "heavy"
    with pytest.raises(SystemExit):
        main(["generate", "--pensioners", "300", "--months", "0", "--as-of", "2021-01-31", "--out", str(tmp_path)])
    assert "--months must be a whole number of months from 1 to 120, got '0'" in capsys.readouterr().err
