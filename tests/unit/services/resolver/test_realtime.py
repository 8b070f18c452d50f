"""Real-time resolve: the Python scorer is the same model as Splink, pair for pair, and finds the same people."""

from __future__ import annotations

import copy
import datetime as dt
import random

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from splink import DuckDBAPI, Linker

from silentcert.graph.errors import InvalidInput
from silentcert.services.resolver.blocking import NEAR_COLUMNS
from silentcert.services.resolver.id_numbers import check_digit, fails_check, neighbours
from silentcert.services.resolver.match_weights import MatchModel
from silentcert.services.resolver.model import LINK_COLUMNS, NAME_KEYS, blocking_rules, load_model
from silentcert.services.resolver.names import name_keys
from silentcert.services.resolver.one_record import RecordQuery
from silentcert.services.resolver.probabilistic import registry_linkage_sql
from silentcert.services.resolver.realtime import RealtimeResolver, linkage_record, model_resolver
from silentcert.services.resolver.registry_index import RegistryIndex
from silentcert.services.resolver.settings import DEFAULT_BLOCKING, LinkageSettings

COLUMNS = "id_number, name, name_pinyin, sex, birth_date, phone, county_code, card_no"
# The round's rules plus a wide one, so that Splink's pairs reach every level of every comparison (the round's
# rules alone pair few people of different counties in a round this small).
BLOCKING = (*DEFAULT_BLOCKING, "birth_date")
# Evidence records in the form the batch's Splink pass sees them (typo'd IDs by their cleaned digits).
RECORDS_SQL = f"""
    WITH c AS (SELECT *, upper(regexp_replace(coalesce(id_number_raw, ''), '[^0-9Xx]', '', 'g')) AS cleaned
               FROM records WHERE kind NOT IN ('face', 'in_person'))
    SELECT rid AS unique_id,
           coalesce(id_number, CASE WHEN length(cleaned) BETWEEN 16 AND 19 THEN cleaned END) AS id_number,
           id_number IS NOT NULL AS id_valid,
           {COLUMNS.split(', ', 1)[1]}
    FROM c WHERE id_number IS NOT NULL OR name IS NOT NULL OR birth_date IS NOT NULL
"""


@pytest.fixture(scope="module")
def resolver(small_round):
    con, _, model_path = small_round
    return RealtimeResolver(con, load_model(model_path), LinkageSettings(blocking=BLOCKING))


@pytest.fixture(scope="module")
def splink_pairs(small_round, resolver):
    """Splink's own predict over registry × records, with the registry's term frequencies."""
    con, _, model_path = small_round
    registry = _with_name_keys(con.sql(registry_linkage_sql()).to_arrow_table())
    records = _with_name_keys(_with_near_ids(con.sql(RECORDS_SQL).to_arrow_table(), registry))
    settings = copy.deepcopy(load_model(model_path)["splink"])
    settings["retain_intermediate_calculation_columns"] = True
    settings["retain_matching_columns"] = True
    settings["blocking_rules_to_generate_predictions"] = blocking_rules(BLOCKING, {*LINK_COLUMNS, *NEAR_COLUMNS})
    api = DuckDBAPI()
    for column in NEAR_COLUMNS:
        registry = registry.append_column(column, pa.nulls(registry.num_rows, pa.string()))
    linker = Linker([api.register(registry.drop_columns(["person_id"]), dataset_display_name="registry"),
                     api.register(records, dataset_display_name="records")], settings)
    for column in MatchModel(settings).tf_columns:
        linker.table_management.register_term_frequency_lookup(
            api.register(_tf_table(con, column)), column)
    predictions = linker.inference.predict().as_record_list()
    return registry, records, predictions


def _with_near_ids(records: pa.Table, registry: pa.Table) -> pa.Table:
    """The batch's ``id_near`` columns, computed here with the Python neighbours (the batch uses the SQL twin)."""
    held = {v for v, ok in zip(registry.column("id_number").to_pylist(), registry.column("id_valid").to_pylist()) if ok}
    found = [[n for n in neighbours(v or "") if n in held] if not ok else []
             for v, ok in zip(records.column("id_number").to_pylist(), records.column("id_valid").to_pylist())]
    for i, column in enumerate(NEAR_COLUMNS):
        records = records.append_column(column, pa.array([f[i] if len(f) > i else None for f in found], pa.string()))
    return records


def _with_name_keys(table: pa.Table) -> pa.Table:
    keys = [name_keys(p, n) for p, n in zip(table.column("name_pinyin").to_pylist(), table.column("name").to_pylist())]
    for i, column in enumerate(NAME_KEYS):
        table = table.append_column(column, pa.array([k[i] for k in keys], pa.string()))
    return table


def _tf_table(con, column: str) -> pa.Table:
    return con.sql(f"""
        SELECT {column}, count(*) / sum(count(*)) OVER () AS tf_{column}
        FROM ({registry_linkage_sql()}) WHERE {column} IS NOT NULL GROUP BY {column}
    """).to_arrow_table()


def _rows(table: pa.Table) -> dict[int, dict]:
    return {row["unique_id"]: row for row in table.to_pylist()}


def test_python_match_weights_equal_splink_predict_for_sampled_pairs(small_round, resolver, splink_pairs):
    registry, records, predictions = splink_pairs
    by_registry, by_record = _rows(registry), _rows(records)
    model = MatchModel(load_model(small_round[2])["splink"])
    sample = random.Random(7).sample(predictions, min(2000, len(predictions)))
    assert len(sample) >= 500
    for pair in sample:
        left_is_registry = pair["source_dataset_l"] == "registry"
        person = by_registry[pair["unique_id_l" if left_is_registry else "unique_id_r"]]
        record = by_record[pair["unique_id_r" if left_is_registry else "unique_id_l"]]
        score = model.score(person, record, resolver._tf)
        assert score.match_weight == pytest.approx(pair["match_weight"], abs=1e-6)
        assert score.match_probability == pytest.approx(pair["match_probability"], abs=1e-6)
        for field in score.fields:
            assert field.gamma == pair[f"gamma_{field.comparison}"], (field, pair)
            assert field.match_weight == pytest.approx(pair[f"mw_{field.comparison}"], abs=1e-6)
            assert field.tf_adjustment == pytest.approx(pair.get(f"mw_tf_adj_{field.comparison}", 0.0), abs=1e-6)


def test_the_scores_cover_every_level_of_every_comparison(small_round, resolver, splink_pairs):
    """The sample above means little unless it reached the fuzzy levels too."""
    _, _, predictions = splink_pairs
    model = MatchModel(load_model(small_round[2])["splink"])
    for comparison in model.comparisons:
        seen = {p[f"gamma_{comparison.name}"] for p in predictions}
        assert len(seen) >= 3, (comparison.name, seen)


def test_registry_index_finds_exactly_the_pairs_splink_blocks(resolver, splink_pairs):
    registry, records, predictions = splink_pairs
    person_of = dict(zip(registry.column("unique_id").to_pylist(), registry.column("person_id").to_pylist()))
    blocked: dict[int, set[str]] = {}
    for p in predictions:
        left_is_registry = p["source_dataset_l"] == "registry"
        rid = p["unique_id_r" if left_is_registry else "unique_id_l"]
        blocked.setdefault(rid, set()).add(person_of[p["unique_id_l" if left_is_registry else "unique_id_r"]])
    index: RegistryIndex = resolver._index
    rows = sorted(_rows(records).items())
    repaired = [(rid, r) for rid, r in rows if r["id_near"] is not None]
    assert repaired, "no record with a failing ID that a registry ID is one slip from"
    for rid, record in random.Random(3).sample(rows, 500) + repaired:
        record = {k: v for k, v in record.items() if k not in NEAR_COLUMNS}
        found = {index.columns["person_id"][i] for i in index.candidates(record)}
        assert found == blocked.get(rid, set()), rid


def test_realtime_finds_the_person_the_batch_linked_by_splink(small_round, resolver):
    con, _, _ = small_round
    linked = con.sql("""
        SELECT l.person_id, r.id_number_raw, r.name, r.sex, r.birth_date, r.phone, r.card_no, r.county_code
        FROM links l JOIN records r USING (rid) WHERE l.method = 'splink' AND l.band = 'auto' ORDER BY rid
    """).fetchall()
    assert len(linked) >= 100
    resolve = model_resolver(resolver)
    agree = 0
    for person_id, id_raw, name, sex, birth, phone, card, county in linked:
        found = resolve(RecordQuery(id_raw, name, sex, birth, phone, card, county))
        agree += bool(found) and found[0].person_id == person_id
    assert agree / len(linked) >= 0.98


def test_typo_in_id_number_resolves_with_per_field_weights(small_round, resolver):
    con, _, _ = small_round
    person_id, id_number, name, birth = con.sql(
        "SELECT person_id, id_number, name, birth_date FROM registry WHERE id_number IS NOT NULL "
        "ORDER BY person_id LIMIT 1").fetchall()[0]
    typo = id_number[:10] + ("1" if id_number[10] != "1" else "2") + id_number[11:]
    found = model_resolver(resolver)(RecordQuery(id_number=typo, name=name, birth_date=birth))
    assert found[0].person_id == person_id and found[0].method == "splink"
    weights = {f.field: f for f in found[0].fields}
    assert weights["id_number"].match_weight > 0 and weights["name"].agrees
    assert weights["phone"].level.endswith("is NULL") and weights["phone"].match_weight == 0.0


@st.composite
def _slipped(draw, ids: list[str]) -> tuple[str, str]:
    """(a registry ID, that ID after one substitution or adjacent transposition that fails the check)."""
    original = draw(st.sampled_from(ids))
    position = draw(st.integers(0, 17))
    if draw(st.booleans()) and position < 17:
        slipped = original[:position] + original[position + 1] + original[position] + original[position + 2:]
    else:
        alphabet = "0123456789X" if position == 17 else "0123456789"
        slipped = original[:position] + draw(st.sampled_from(alphabet)) + original[position + 1:]
    return original, slipped


@pytest.fixture(scope="module")
def registry_people(small_round):
    con, _, _ = small_round
    return {idn: (pid, name, sex) for pid, idn, name, sex in con.sql(
        "SELECT person_id, id_number, name, sex FROM registry WHERE id_number IS NOT NULL AND name IS NOT NULL"
    ).fetchall()}


def test_a_slipped_id_with_the_name_and_sex_resolves_to_the_holder(small_round, resolver, registry_people):
    """Every substitution or adjacent transposition that fails the check is repaired by the registry's ID index
    and confirmed by the name and sex (no birth date, no county: ministry travel's shape)."""
    resolve = model_resolver(resolver)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_slipped(sorted(registry_people)))
    def check(slip):
        original, slipped = slip
        if not fails_check(slipped):
            return
        person_id, name, sex = registry_people[original]
        found = resolve(RecordQuery(id_number=slipped, name=name, sex=sex))
        assert found and found[0].person_id == person_id, (slip, found[:2])
        assert found[0].match_probability >= resolver._settings.review_floor, (slip, found[0])

    check()


def test_a_valid_id_not_in_the_registry_is_not_repaired_into_a_neighbour(small_round, resolver, registry_people):
    original = sorted(registry_people)[0]
    _, name, sex = registry_people[original]
    other = next(n for n in (original[:16] + d for d in "0123456789") if n != original[:16] + original[16]
                 and n[:17] + check_digit(n[:17]) not in registry_people)
    other = other[:17] + check_digit(other[:17])
    found = model_resolver(resolver)(RecordQuery(id_number=other, name=name, sex=sex))
    assert all(c.match_probability < resolver._settings.auto_threshold for c in found)


def test_stranger_gets_no_confident_candidate(resolver):
    query = RecordQuery(name="钱多多", birth_date=dt.date(1990, 2, 2), county_code="440101")
    assert all(c.match_probability < 0.5 for c in model_resolver(resolver)(query))


def test_unusable_fields_are_invalid_input_naming_the_field():
    with pytest.raises(InvalidInput) as bad_phone:
        linkage_record(RecordQuery(phone="12"))
    assert bad_phone.value.field == "record.phone"
    with pytest.raises(InvalidInput) as bad_county:
        linkage_record(RecordQuery(name="张伟", county_code="3601"))
    assert bad_county.value.field == "record.county_code"


def test_id_number_fills_missing_birth_date_and_sex_as_ingest_does():
    first17 = "11010119500101123"
    record = linkage_record(RecordQuery(id_number=first17 + check_digit(first17)))
    assert record["birth_date"] == dt.date(1950, 1, 1) and record["sex"] == "M"


def test_unknown_model_level_is_refused_at_load(small_round):
    document = copy.deepcopy(load_model(small_round[2])["splink"])
    document["comparisons"][0]["comparison_levels"][2]["sql_condition"] = "soundex(id_number_l) = soundex(id_number_r)"
    with pytest.raises(InvalidInput, match="not one the real-time scorer evaluates"):
        MatchModel(document)


def test_serve_with_model_answers_resolve_record_over_grpc(small_round, tmp_path):
    import grpc

    from silentcert.graph.embedded import EmbeddedStore
    from silentcert.resolver.v1 import resolver_pb2 as pb
    from silentcert.resolver.v1 import resolver_pb2_grpc
    from silentcert.services import serving
    from silentcert.services.security.settings import SecuritySettings

    con, _, model_path = small_round
    con.execute("CHECKPOINT")
    db_copy = tmp_path / "round.duckdb"
    con.execute(f"ATTACH '{db_copy}' AS copy; COPY FROM DATABASE {con.sql('SELECT current_database()').fetchall()[0][0]} "
                "TO copy; DETACH copy")
    person_id, id_number, name = con.sql(
        "SELECT person_id, id_number, name FROM registry WHERE id_number IS NOT NULL ORDER BY person_id DESC LIMIT 1"
    ).fetchall()[0]
    settings = serving.ServeSettings(address="127.0.0.1:0", services=("resolver",), model_path=model_path,
                                     registry_db=db_copy, security=SecuritySettings(insecure_dev=True))
    with EmbeddedStore(tmp_path / "graph.duckdb") as store:
        running = serving.start(settings, [store], serving.model_engines(settings))
        try:
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                reply = resolver_pb2_grpc.ResolverServiceStub(channel).ResolveRecord(
                    pb.ResolveRecordRequest(record=pb.RecordFields(id_number=id_number[:-1] + ("0" if id_number[-1] != "0" else "1"), name=name)))
        finally:
            running.server.stop(0)
            running.security.close()
    best = reply.candidates[0]
    assert best.person_id == person_id and best.method == pb.LINK_METHOD_SPLINK
    assert {f.field for f in best.fields} >= {"id_number", "name", "birth_date"}
