"""The lapse forecast in a real round and in two chained monthly rounds on one store (issue 19, item 4)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from silentcert.clients.rounds import run_round_files
from silentcert.synthetic.series import generate_series

FIRST = dt.date(2021, 3, 31)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> list[Path]:
    """Two monthly rounds of one province, run in order on one embedded store."""
    base = tmp_path_factory.mktemp("series")
    generate_series(1500, 2, 5, FIRST, base / "in")
    outs = []
    for month in ("2021-03", "2021-04"):
        out = base / "out" / month
        run_round_files(base / "in" / month / "round.toml", out, store=base / "graph.duckdb", neo4j_uri=None)
        outs.append(out)
    return outs


@pytest.mark.parametrize("month", [0, 1])
def test_every_person_with_a_valid_period_has_one_forecast_row(series, month):
    out = series[month]
    as_of = dt.date(2021, 3 + month, 31 if month == 0 else 30)
    valid = {r["person_id"] for r in _rows(out / "verdicts.csv")
             if r["status"] == "certified" and dt.date.fromisoformat(r["certified_until"]) >= as_of}
    forecast = _rows(out / "forecast.csv")
    assert [r["person_id"] for r in forecast if r["person_id"] in valid] == [r["person_id"] for r in forecast]
    assert sorted(r["person_id"] for r in forecast) == sorted(valid)
    assert [int(r["priority"]) for r in forecast] == list(range(1, len(forecast) + 1))
    probabilities = [float(r["lapse_probability"]) for r in forecast]
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert probabilities == sorted(probabilities, reverse=True)
    assert min(probabilities) < 0.5 < max(probabilities)  # the forecast tells people apart


def test_reminders_are_ordered_by_risk_and_reach_likely_lapsers_early(series):
    out = series[1]
    as_of = dt.date(2021, 4, 30)
    risk = {r["person_id"]: float(r["lapse_probability"]) for r in _rows(out / "forecast.csv")}
    ends = {r["person_id"]: dt.date.fromisoformat(r["certified_until"]) for r in _rows(out / "forecast.csv")}
    reminders = sorted((r for r in _rows(out / "notices.csv") if r["kind"] == "reminder"),
                       key=lambda r: int(r["priority"]))
    assert reminders
    assert [int(r["priority"]) for r in reminders] == list(range(1, len(reminders) + 1))
    ordered = [risk[r["person_id"]] for r in reminders]
    assert ordered == sorted(ordered, reverse=True)
    early = [r for r in reminders if ends[r["person_id"]] > as_of + dt.timedelta(days=60)]
    assert early and all(risk[r["person_id"]] >= 0.5 for r in early)
    assert all(r["priority"] == "" for r in _rows(out / "notices.csv") if r["kind"] != "reminder")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert sum(band[1] for band in report["lapse_forecast"]) == len(risk)
    assert "Lapse forecast" in (out / "report.html").read_text(encoding="utf-8")
