"""A round whose registry holds second accounts of five pensioners (another county, same ID and name): flags on
both accounts of every pair, and the evidence carrying that ID certifies both. The round also names another
scheme's list (``[[other_registries]]``) holding three of its pensioners among strangers: each is flagged once,
naming that scheme."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from silentcert.clients.rounds import run_round_files
from silentcert.synthetic import generate

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


def add_other_scheme(round_dir: Path, strangers_dir: Path, skip: set[str], n: int) -> dict[str, str]:
    """Write urban.csv: `n` of the round's pensioners (legacy 15-digit IDs, other column names) among another
    county's people, and name it in round.toml; returns {our person_id: their person_id}."""
    ours = [r for r in _rows(round_dir / "registry.csv") if r["person_id"] not in skip and r["id_number"]][-n:]
    strangers = _rows(strangers_dir / "registry.csv")[:200]
    rows, found = [], {}
    for i, row in enumerate([*ours, *strangers]):
        theirs = f"URB{i:05d}"
        legacy = row["id_number"][:6] + row["id_number"][8:17] if i < n else row["id_number"]
        rows.append({"yhbh": theirs, "sfz": legacy, "xm": row["name"], "xb": row["sex"], "csrq": row["birth_date"],
                     "dy": row["monthly_pension"]})
        if i < n:
            found[row["person_id"]] = theirs
    with open(round_dir / "urban.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(round_dir / "round.toml", "a", encoding="utf-8") as handle:
        handle.write('\n[[other_registries]]\nname = "urban_resident_scheme"\nfile = "urban.csv"\n'
                     '[other_registries.columns]\nperson_id = "yhbh"\nid_number = "sfz"\nname = "xm"\n'
                     'sex = "xb"\nbirth_date = "csrq"\nmonthly_pension = "dy"\n')
    return found


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    round_dir = tmp_path_factory.mktemp("round")
    generate(pensioners=2500, seed=5, as_of=AS_OF, out=round_dir)
    strangers = tmp_path_factory.mktemp("strangers")
    generate(pensioners=300, seed=6, as_of=AS_OF, out=strangers)
    copies = add_second_accounts(round_dir, PAIRS)
    in_other = add_other_scheme(round_dir, strangers, set(copies) | set(copies.values()), 3)
    out = tmp_path_factory.mktemp("out")
    run_round_files(round_dir / "round.toml", out, store=None, neo4j_uri=None)
    return out, copies, in_other


def test_both_accounts_of_every_pair_are_flagged(finished):
    out, copies, _ = finished
    flags = [f for f in _rows(out / "flags.csv") if f["kind"] == "duplicate_account" and "/" not in f["flag_id"]]
    flagged = {(f["person_id"], f["flag_id"].rsplit(":", 1)[1]) for f in flags}
    for original, copy in copies.items():
        assert (original, copy) in flagged and (copy, original) in flagged, (original, copy, flags)
    assert len(flags) == 2 * PAIRS, flags
    detail = next(f["detail"] for f in flags if f["person_id"] in copies)
    assert "monthly payments from 2020-10-31 to 2021-10-31" in detail, detail


def test_the_shared_evidence_certifies_both_accounts(finished):
    out, copies, _ = finished
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
    flags = [f for f in _rows(out / "flags.csv") if f["kind"] == "duplicate_account" and "/" not in f["flag_id"]]
    assert {f["severity"] for f in flags} == {"critical"}, flags


def test_people_in_another_schemes_list_are_flagged_naming_it(finished):
    out, _, in_other = finished
    flags = [f for f in _rows(out / "flags.csv") if "urban_resident_scheme/" in f["flag_id"]]
    assert {(f["person_id"], f["flag_id"].rsplit("/", 1)[1]) for f in flags} == set(in_other.items()), flags
    assert all("urban_resident_scheme account" in f["detail"] for f in flags)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    by_registry = {row[0]: row[1] for row in report["duplicates"]}
    assert by_registry == {"this registry": PAIRS, "urban_resident_scheme": 3}, report["duplicates"]
    assert "Duplicate accounts" in (out / "report.html").read_text(encoding="utf-8")
