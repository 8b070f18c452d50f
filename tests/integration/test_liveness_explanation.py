"""GetLiveness says why: a round scored for real (services.liveness.score_stage), published into the embedded store
and served on port 0. A weak certification names the sources seen and the record that dates it; an uncertified
pensioner with only the sources relatives keep using after a death is told so."""

from __future__ import annotations

import re
from datetime import date, datetime

import duckdb
import pyarrow as pa
import pytest

from silentcert.clients.grpc_client import SilentcertClient
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.exports import schema
from silentcert.graph.query_table import QueryTable
from silentcert.graph.store import RoundExport
from silentcert.liveness.v1 import liveness_pb2 as lv
from silentcert.services import serving
from silentcert.services.liveness.score_stage import score_round
from silentcert.services.liveness.settings import LivenessSettings
from silentcert.services.security.settings import SecuritySettings

AS_OF = date(2021, 10, 31)
ROUND = "2021-10"


def _province() -> list[tuple[str, str, str, date]]:
    """(person, source, kind, day): the heavy world of test_time_aware.py, where relatives keep the card and the
    phone going after a death and never see the doctor."""
    rows: list[tuple[str, str, str, date]] = []
    for i in range(200):  # alive, strong-certified, weak sources used independently
        rows.append((f"L{i}", "vaccination", "strong", date(2021, 8, 1)))
        rows += [(f"L{i}", s, "weak", date(2021, 9, 1))
                 for j, s in enumerate(("card_spending", "telecom", "outpatient")) if (i >> j) & 1]
    for i in range(40):  # labelled dead (two registers); half the families keep card and phone going
        rows += [(f"X{i}", register, "death", date(2021, 2, 1)) for register in ("civil_deaths", "police_deaths")]
        rows.append((f"X{i}", "outpatient", "weak", date(2021, 1, 10)))
        if i % 2 == 0:
            rows += [(f"X{i}", "card_spending", "weak", d) for d in (date(2021, 5, 1), date(2021, 9, 1))]
            rows += [(f"X{i}", "telecom", "weak", d) for d in (date(2021, 6, 1), date(2021, 10, 1))]
    rows += [("CARD", "card_spending", "weak", date(2021, 7, 1)), ("CARD", "card_spending", "weak", date(2021, 10, 1)),
             ("CARD", "telecom", "weak", date(2021, 8, 1)),  # card and phone only: what relatives produce
             ("DOC", "outpatient", "weak", date(2021, 4, 2)), ("DOC", "card_spending", "weak", date(2021, 10, 2))]
    return rows


def _scored(con: duckdb.DuckDBPyConnection) -> None:
    """The tables the earlier stages write (registry, records, links, link_candidates), then the liveness stage."""
    rows = _province()
    people = sorted({r[0] for r in rows})
    con.register("_people", pa.table({"person_id": people}))
    con.register("_rows", pa.table({
        "rid": list(range(1, len(rows) + 1)), "person_id": [r[0] for r in rows], "source": [r[1] for r in rows],
        "kind": [r[2] for r in rows], "occurred_at": [datetime(d.year, d.month, d.day, 10) for _, _, _, d in rows]}))
    con.execute("""
        CREATE TABLE registry AS SELECT person_id, '张三' AS name, NULL::VARCHAR AS phone, 'U1' AS unit_id,
                                        NULL::DATE AS certified_until FROM _people;
        CREATE TABLE records AS SELECT rid, source, kind, source || '-' || rid AS record_id, occurred_at,
                                       NULL::VARCHAR AS person_id, NULL::BOOLEAN AS passed FROM _rows;
        CREATE TABLE links AS SELECT rid, source, source || '-' || rid AS record_id, person_id,
                                     0.99 AS match_probability, 'splink' AS method, 'auto' AS band FROM _rows;
        CREATE TABLE link_candidates AS SELECT rid, person_id, 0.99 AS match_probability, 'splink' AS method,
                                               false AS shared FROM _rows""")
    score_round(con, AS_OF, LivenessSettings())


def _export(con: duckdb.DuckDBPyConnection) -> RoundExport:
    """The round's verdicts and records as a RoundExport (the registry here has no identifiers)."""
    def empty(name: str) -> pa.Table:
        return schema(name).empty_table()
    pensioners = QueryTable(con, f"""
        SELECT v.person_id, {", ".join(f"NULL AS {c}" for c in ("id_number", "name_pinyin", "sex", "birth_date",
                                                                  "phone", "card_no", "county_code"))},
               r.name, r.unit_id, NULL AS monthly_pension, v.status, v.method, v.source,
               CAST(v.evidence_at AS DATE) AS evidence_at, v.probability, v.certified_until, v.period_state,
               v.explanation
        FROM registry r JOIN verdicts v USING (person_id)""")
    events = QueryTable(con, """
        SELECT c.source || '/' || c.record_id AS key, c.source, c.kind, c.record_id, c.occurred_at, l.person_id,
               l.match_probability, l.method, NULL AS id_number, NULL AS phone, NULL AS card_no, c.passed
        FROM records c JOIN links l USING (rid)""")
    return RoundExport(ROUND, AS_OF, pensioners, empty("identifiers"), events, empty("flags"),
                       empty("flag_citations"))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explained")
    with duckdb.connect() as con, EmbeddedStore(folder / "graph.duckdb") as store:
        _scored(con)
        store.publish_round(_export(con))
        settings = serving.ServeSettings(address="127.0.0.1:0", services=("liveness",), grace_seconds=2.0,
                                         security=SecuritySettings(insecure_dev=True))
        running = serving.start(settings, [store], serving.Engines())
        with SilentcertClient(f"127.0.0.1:{running.port}", timeout=10) as the_client:
            yield the_client
        running.server.stop(0).wait()


def test_a_weak_certification_names_its_sources_and_the_record_that_dates_it(client):
    doc = client.get_liveness(person_id="DOC")
    assert (doc.status, doc.method, doc.source, doc.evidence_at) == (
        lv.LIVENESS_STATUS_CERTIFIED, lv.CERTIFICATION_METHOD_WEAK, "outpatient", "2021-04-02")
    assert doc.explanation.startswith("weak: 2 sources seen from 2021-04-02 on (card_spending, outpatient), log-odds ")
    dating = re.search(r"dated by (\S+) record (\S+);", doc.explanation)
    assert dating, doc.explanation
    # the record it names is the pensioner's own outpatient visit, listed with the evidence
    assert (dating.group(1), dating.group(2)) in {(e.source, e.record_id) for e in doc.evidence}
    visit = next(e for e in doc.evidence if e.record_id == dating.group(2))
    assert (visit.source, visit.occurred_at.ToDatetime().date()) == ("outpatient", date(2021, 4, 2))
    assert doc.explanation.endswith(f"certified until {doc.certified_until}")


def test_an_uncertified_weak_only_pensioner_is_told_why(client):
    for card in (client.get_liveness(person_id="CARD"),
                 next(iter(client.stream_liveness([lv.StreamLivenessRequest(person_id="CARD", tag="t")]))).liveness):
        assert (card.status, card.method) == (lv.LIVENESS_STATUS_UNCERTIFIED, lv.CERTIFICATION_METHOD_NONE)
        assert card.explanation.startswith("none: only sources that relatives of deceased pensioners were seen "
                                           "using this round (card_spending, telecom): best log-odds ")


def test_the_explanation_quotes_no_identifier(client):
    """The sentences name sources, dates, scores and record ids: nothing the masking would hide."""
    for pid in ("DOC", "CARD", "L3", "X0"):
        explained = client.get_liveness(person_id=pid).explanation
        assert explained and not re.search(r"[0-9]{11}", explained), explained
