"""A hand-built province: registry, records, links and candidates as the earlier stages would write them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import pytest

from graph.model import EvidenceEdge, Person
from services.liveness.periods import previous_end

AS_OF = date(2021, 10, 31)


@dataclass
class Province:
    """Tables of one round, built row by row; ``load`` writes them into a DuckDB connection."""

    people: list[tuple] = field(default_factory=list)
    records: list[tuple] = field(default_factory=list)
    previous: list[tuple] = field(default_factory=list)

    def person(self, pid: str, certified_until: date | None = None, phone: str | None = "13800000000",
               unit_id: str | None = "U1", name: str = "张三") -> str:
        self.people.append((pid, name, phone, unit_id, certified_until))
        return pid

    def record(self, pid: str | None, source: str, kind: str, day: date | datetime, p: float = 0.99,
               method: str = "splink", shared: bool = False, passed: bool | None = None) -> str:
        rid = len(self.records) + 1
        when = day if isinstance(day, datetime) else datetime(day.year, day.month, day.day, 10, 0)
        self.records.append((rid, source, kind, f"r{rid}", when, pid, p, method, shared, passed))
        return f"r{rid}"

    def weak(self, pid: str, source: str, *days: date, p: float = 0.99, shared: bool = False) -> None:
        for day in days:
            self.record(pid, source, "weak", day, p=p, shared=shared)

    def prior_period(self, pid: str, status: str, certified_until: date | None) -> None:
        self.previous.append((pid, status, certified_until))

    def load(self, con: duckdb.DuckDBPyConnection, with_previous: bool = True) -> None:
        con.execute("CREATE OR REPLACE TABLE registry (person_id VARCHAR, name VARCHAR, phone VARCHAR, "
                    "unit_id VARCHAR, certified_until DATE)")
        con.execute("CREATE OR REPLACE TABLE records (rid BIGINT, source VARCHAR, kind VARCHAR, record_id VARCHAR, "
                    "occurred_at TIMESTAMP, person_id VARCHAR, passed BOOLEAN)")
        con.execute("CREATE OR REPLACE TABLE links (rid BIGINT, source VARCHAR, record_id VARCHAR, person_id VARCHAR, "
                    "match_probability DOUBLE, method VARCHAR, band VARCHAR)")
        con.execute("CREATE OR REPLACE TABLE link_candidates (rid BIGINT, person_id VARCHAR, "
                    "match_probability DOUBLE, method VARCHAR, shared BOOLEAN)")
        if self.people:
            con.executemany("INSERT INTO registry VALUES (?, ?, ?, ?, ?)", self.people)
        for rid, source, kind, rec, when, pid, p, method, shared, passed in self.records:
            con.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, NULL, ?)", [rid, source, kind, rec, when, passed])
            band = "none" if pid is None else ("auto" if p >= 0.95 else "review")
            con.execute("INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [rid, source, rec, pid, p if pid else None, method, band])
            if pid is not None:
                con.execute("INSERT INTO link_candidates VALUES (?, ?, ?, ?, ?)", [rid, pid, p, method, shared])
        if with_previous:
            con.execute("CREATE OR REPLACE TABLE previous_periods (person_id VARCHAR, status VARCHAR, "
                        "certified_until DATE)")
            if self.previous:
                con.executemany("INSERT INTO previous_periods VALUES (?, ?, ?)", self.previous)

    def edges(self, pid: str) -> list[EvidenceEdge]:
        """The person's records as the graph store would hand them to explain_person."""
        return [EvidenceEdge(source=s, kind=k, record_id=rec, occurred_at=when, link_probability=p, method=m,
                             round_id="2021-10", passed=passed, shared=shared)
                for _, s, k, rec, when, who, p, m, shared, passed in self.records if who == pid]

    def as_person(self, pid: str) -> Person:
        """The person with certified_until = the period end before this round."""
        row = next(r for r in self.people if r[0] == pid)
        prev = [r[2] for r in self.previous if r[0] == pid and r[1] != "deceased" and r[2] is not None]
        return Person(person_id=pid, name=row[1], phone=row[2], unit_id=row[3],
                      certified_until=previous_end(row[4], max(prev) if prev else None))


@pytest.fixture
def province() -> Province:
    return Province()


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()
