"""A tiny hand-built province: the round tables the death check reads, filled row by row in each test."""

from __future__ import annotations

import itertools
from datetime import date

import duckdb
import pytest

AS_OF = date(2021, 10, 31)

SCHEMA = """
CREATE TABLE registry (person_id VARCHAR, id_number VARCHAR, id_number_raw VARCHAR, name VARCHAR,
    name_pinyin VARCHAR, sex VARCHAR, birth_date DATE, phone VARCHAR, card_no VARCHAR, county_code VARCHAR,
    unit_id VARCHAR, monthly_pension DOUBLE, certified_until DATE, line BIGINT);
CREATE TABLE records (rid BIGINT, source VARCHAR, kind VARCHAR, record_id VARCHAR, line BIGINT,
    occurred_at TIMESTAMP, person_id VARCHAR, id_number VARCHAR, id_number_raw VARCHAR, name VARCHAR,
    name_pinyin VARCHAR, sex VARCHAR, birth_date DATE, phone VARCHAR, card_no VARCHAR, county_code VARCHAR,
    passed BOOLEAN);
CREATE TABLE links (rid BIGINT, source VARCHAR, record_id VARCHAR, person_id VARCHAR, match_probability DOUBLE,
    method VARCHAR, band VARCHAR);
CREATE TABLE link_candidates (rid BIGINT, person_id VARCHAR, match_probability DOUBLE, method VARCHAR,
    shared BOOLEAN);
CREATE TABLE identifiers (person_id VARCHAR, kind VARCHAR, value VARCHAR, origin VARCHAR, shared BOOLEAN);
CREATE TABLE evidence (person_id VARCHAR, rid BIGINT, source VARCHAR, kind VARCHAR, occurred_at TIMESTAMP,
    link_probability DOUBLE, contribution DOUBLE);
CREATE TABLE verdicts (person_id VARCHAR, status VARCHAR, method VARCHAR, source VARCHAR, evidence_at TIMESTAMP,
    probability DOUBLE, certified_until DATE, period_state VARCHAR, explanation VARCHAR);
CREATE TABLE decided_flags (flag_id VARCHAR, status VARCHAR, decided_by VARCHAR, decided_at TIMESTAMPTZ,
    note VARCHAR);
"""


class Province:
    """Adds pensioners, source records with their links, identifiers and earlier decisions."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._rid = itertools.count(1)
        self.as_of = AS_OF

    def person(self, person_id: str, *, name: str = "张三", sex: str = "M", birth: date = date(1950, 1, 1),
               county: str = "110101", pension: float = 3000.0, phone: str | None = None, card: str | None = None,
               status: str = "certified", evidence_at: date | None = date(2021, 6, 1),
               certified_until: date | None = date(2022, 6, 1)) -> str:
        self.con.execute("INSERT INTO registry VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'U1', ?, ?, 1)",
                         [person_id, f"ID{person_id}", f"ID{person_id}", name, name, sex, birth, phone, card, county,
                          pension, certified_until])
        self.con.execute("INSERT INTO verdicts VALUES (?, ?, 'strong', 'vaccination', ?, 0.99, ?, 'valid', ?)",
                         [person_id, status, evidence_at, certified_until, "liveness"])
        for kind, value in (("phone", phone), ("card", card)):
            if value:
                self.identifier(person_id, kind, value)
        return person_id

    def identifier(self, person_id: str, kind: str, value: str) -> None:
        self.con.execute("INSERT INTO identifiers VALUES (?, ?, ?, 'registry', false)", [person_id, kind, value])

    def record(self, person_id: str | None, source: str, kind: str, on: date, *, band: str = "auto",
               passed: bool | None = None, sex: str | None = None, birth: date | None = None) -> int:
        rid = next(self._rid)
        record_id = f"{source}-{rid}"
        self.con.execute("INSERT INTO records (rid, source, kind, record_id, line, occurred_at, sex, birth_date, "
                         "passed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [rid, source, kind, record_id, rid + 1, on, sex, birth, passed])
        self.con.execute("INSERT INTO links VALUES (?, ?, ?, ?, ?, 'deterministic', ?)",
                         [rid, source, record_id, person_id if band != "none" else None,
                          0.99 if band == "auto" else 0.7, band])
        return rid

    def death(self, person_id: str, source: str, on: date, **kw) -> int:
        return self.record(person_id, source, "death", on, **kw)

    def weak_death(self, person_id: str, source: str, on: date, probability: float = 0.2) -> int:
        """A death record linked to nobody whose best candidate is ``person_id``, below the review band."""
        rid = self.record(person_id, source, "death", on, band="none")
        self.con.execute("UPDATE links SET match_probability = ? WHERE rid = ?", [probability, rid])
        self.con.execute("INSERT INTO link_candidates VALUES (?, ?, ?, 'splink', false)", [rid, person_id, probability])
        return rid

    def confirmed_death(self, person_id: str, on: date) -> None:
        """Two agreeing registers (police and civil affairs on the same day): what confirms a death by default."""
        self.death(person_id, "police", on)
        self.death(person_id, "civil_affairs", on)

    def decided(self, flag_id: str, status: str, by: str = "li.clerk") -> None:
        self.con.execute("INSERT INTO decided_flags VALUES (?, ?, ?, TIMESTAMPTZ '2021-09-01 10:00:00+00', 'ok')",
                         [flag_id, status, by])

    def verdict(self, person_id: str) -> tuple:
        return self.con.execute("SELECT status, period_state, certified_until FROM verdicts WHERE person_id = ?",
                                [person_id]).fetchone()

    def flags(self, person_id: str | None = None) -> dict[str, tuple]:
        rows = self.con.execute("SELECT kind, flag_id, severity, overpayment, ring_id, detail FROM flags "
                                "WHERE ?::VARCHAR IS NULL OR person_id = ?", [person_id, person_id]).fetchall()
        return {r[0]: r[1:] for r in rows}


@pytest.fixture
def province() -> Province:
    con = duckdb.connect(":memory:")
    con.execute(SCHEMA)
    yield Province(con)
    con.close()
