"""A hand-built province: registry, records, links and candidates as the earlier stages would write them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import pyarrow as pa
import pytest

from silentcert.graph.model import EvidenceEdge, Person
from silentcert.services.liveness.periods import previous_end

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
        recs = self.records
        registry = pa.table({
            "person_id": pa.array([r[0] for r in self.people], pa.string()),
            "name": pa.array([r[1] for r in self.people], pa.string()),
            "phone": pa.array([r[2] for r in self.people], pa.string()),
            "unit_id": pa.array([r[3] for r in self.people], pa.string()),
            "certified_until": pa.array([r[4] for r in self.people], pa.date32()),
        })
        rows = pa.table({
            "rid": pa.array([r[0] for r in recs], pa.int64()),
            "source": pa.array([r[1] for r in recs], pa.string()),
            "kind": pa.array([r[2] for r in recs], pa.string()),
            "record_id": pa.array([r[3] for r in recs], pa.string()),
            "occurred_at": pa.array([r[4] for r in recs], pa.timestamp("us")),
            "link_person": pa.array([r[5] for r in recs], pa.string()),
            "p": pa.array([r[6] for r in recs], pa.float64()),
            "method": pa.array([r[7] for r in recs], pa.string()),
            "shared": pa.array([r[8] for r in recs], pa.bool_()),
            "passed": pa.array([r[9] for r in recs], pa.bool_()),
        })
        previous = pa.table({
            "person_id": pa.array([r[0] for r in self.previous], pa.string()),
            "status": pa.array([r[1] for r in self.previous], pa.string()),
            "certified_until": pa.array([r[2] for r in self.previous], pa.date32()),
        })
        con.register("_registry", registry)
        con.register("_rows", rows)
        con.register("_previous", previous)
        con.execute("CREATE OR REPLACE TABLE registry AS SELECT * FROM _registry")
        con.execute("CREATE OR REPLACE TABLE records AS SELECT rid, source, kind, record_id, occurred_at, "
                    "NULL::VARCHAR AS person_id, passed FROM _rows")
        con.execute("CREATE OR REPLACE TABLE links AS SELECT rid, source, record_id, link_person AS person_id, "
                    "CASE WHEN link_person IS NOT NULL THEN p END AS match_probability, method, "
                    "CASE WHEN link_person IS NULL THEN 'none' WHEN p >= 0.95 THEN 'auto' ELSE 'review' END AS band "
                    "FROM _rows")
        con.execute("CREATE OR REPLACE TABLE link_candidates AS SELECT rid, link_person AS person_id, "
                    "p AS match_probability, method, shared FROM _rows WHERE link_person IS NOT NULL")
        if with_previous:
            con.execute("CREATE OR REPLACE TABLE previous_periods AS SELECT * FROM _previous")
        for name in ("_registry", "_rows", "_previous"):
            con.unregister(name)

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
