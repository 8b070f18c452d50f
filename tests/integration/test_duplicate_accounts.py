"""A round whose registry holds second accounts of five pensioners (another county, same ID and name): flags on
both accounts of every pair, and the evidence carrying that ID certifies both."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from clients.rounds import run_round_files
from synthetic import generate

AS_OF = dt.date(2021, 10, 31)
PAIRS = 5


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def add_second_accounts(round_dir: Path, n: int) -> dict[str, str]:
    """Copy `n` pensioners seen by the health-code scans (a strong source carrying the ID) in the last month under
    new account numbers in another county; returns {original person_id: copy's person_id}."""
    scans = pq.read_table(round_dir / "evidence" / "health_code.parquet").to_pylist()
    recent = {str(r["id_card"]) for r in scans if str(r["scan_time"])[:7] == "2021-10"}
    path = round_dir / "registry.csv"
    rows = _rows(path)
    counties = sorted({r["county_code"] for r in rows})
    chosen = [r for r in rows if r["id_number"] in recent][:n]
    assert len(chosen) == n, "the generated county has too few scanned pensioners"
    copies = {}
    for i, row in enumerate(chosen):
        copy = {**row, "person_id": f"DUP{i:04d}", "card_no": "", "phone": "",
                "county_code": next(c for c in counties if c != row["county_code"])}
        copies[row["person_id"]] = copy["person_id"]
        rows.append(copy)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return copies


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    round_dir = tmp_path_factory.mktemp("round")
    generate(pensioners=2500, seed=5, as_of=AS_OF, out=round_dir)
    copies = add_second_accounts(round_dir, PAIRS)
    out = tmp_path_factory.mktemp("out")
    run_round_files(round_dir / "round.toml", out, store=None, neo4j_uri=None)
    return out, copies


def test_both_accounts_of_every_pair_are_flagged(finished):
    out, copies = finished
    flags = [f for f in _rows(out / "flags.csv") if f["kind"] == "duplicate_account"]
    flagged = {(f["person_id"], f["flag_id"].rsplit(":", 1)[1]) for f in flags}
    for original, copy in copies.items():
        assert (original, copy) in flagged and (copy, original) in flagged, (original, copy, flags)
    assert len(flags) == 2 * PAIRS, flags
    detail = next(f["detail"] for f in flags if f["person_id"] in copies)
    assert "monthly payments from 2020-10-31 to 2021-10-31" in detail, detail


def test_the_shared_evidence_certifies_both_accounts(finished):
    out, copies = finished
    verdicts = {v["person_id"]: v for v in _rows(out / "verdicts.csv")}
    links = _rows(out / "links.csv")
    for original, copy in copies.items():
        a, b = verdicts[original], verdicts[copy]
        assert a["status"] == b["status"] == "certified", (a, b)
        assert a["method"] == b["method"] != "carried", (a, b)
        assert a["certified_until"] == b["certified_until"], (a, b)
    with duckdb.connect(str(out / "state" / "round.duckdb"), read_only=True) as con:
        explained = dict(con.execute("SELECT person_id, explanation FROM verdicts").fetchall())
    linked = {link["person_id"] for link in links}
    unlinked = [p for pair in copies.items() for p in pair if p not in linked]
    assert unlinked, "every account holds links of its own: the test shows nothing"
    for account in unlinked:  # certified only through its twin: the verdict names the flag
        assert f"duplicate_account:{account}:" in explained[account], explained[account]
    flags = [f for f in _rows(out / "flags.csv") if f["kind"] == "duplicate_account"]
    assert {f["severity"] for f in flags} == {"critical"}, flags
