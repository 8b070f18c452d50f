"""The ingest stage: read every file of a round, normalise it set-wise in DuckDB, reject what cannot be used.

Output tables (docs/architecture.md): `registry`, `records`, `rejects`, `source_counts`.

A source row is rejected only when it cannot be used at all: no record_id, a repeated record_id, no usable
occurred_at, a date after the round's reference date, a face/in-person row that names nobody, or no identifying
field left after normalisation. A row whose ID number is malformed but which still carries a name, phone or card
is kept (its cleaned raw ID feeds the fuzzy comparison) — that is what probabilistic linkage is for. Registry rows
are rejected only for a missing or repeated person_id: a pensioner is never dropped for a bad phone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa

from services.resolver import dates, id_numbers, names, phones, sex
from services.resolver.widths import WHITESPACE, half_width_sql, sql_string, translate_sql
from services.rounds.progress import Progress
from services.rounds.readers import ReadResult, read_file
from services.rounds.roundfile import CHANNEL_COLUMNS, FileSpec, RoundSpec

PASSED_TRUE = ("true", "t", "1", "yes", "y", "pass", "passed", "是", "通过", "成功")
PASSED_FALSE = ("false", "f", "0", "no", "n", "fail", "failed", "否", "未通过", "失败")

RECORD_COLUMNS = (
    "rid", "source", "kind", "record_id", "line", "occurred_at", "person_id", "id_number", "id_number_raw",
    "name", "name_pinyin", "sex", "birth_date", "phone", "card_no", "county_code", "passed",
)


def ingest_round(con: duckdb.DuckDBPyConnection, spec: RoundSpec, progress: Progress) -> dict[str, Any]:
    """Read and normalise the registry and every source; returns counts per source."""
    _create_tables(con)
    files = [spec.registry, *spec.sources]
    stats: dict[str, Any] = {}
    for done, file in enumerate(files, start=1):
        result = read_file(file)
        _stage_raw(con, result, file)
        if file.kind == "registry":
            _ingest_registry(con, spec.as_of)
        else:
            _ingest_source(con, file, spec.as_of)
        _record_bad_rows(con, result, file)
        _count(con, file, result)
        progress.advance("ingest", done, len(files), unit="files")
    con.execute("DROP TABLE IF EXISTS _raw; DROP TABLE IF EXISTS _norm")
    totals = con.execute("SELECT sum(input_rows), sum(rejected_rows) FROM source_counts "
                         "WHERE source <> 'registry'").fetchall()[0]
    stats["pensioners"] = con.execute("SELECT count(*) FROM registry").fetchall()[0][0]
    stats["source_rows"] = int(totals[0] or 0)
    stats["rejected"] = int(totals[1] or 0)
    return stats


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE registry (
            person_id VARCHAR PRIMARY KEY, id_number VARCHAR, id_number_raw VARCHAR, name VARCHAR,
            name_pinyin VARCHAR, sex VARCHAR, birth_date DATE, phone VARCHAR, card_no VARCHAR,
            county_code VARCHAR, unit_id VARCHAR, monthly_pension DOUBLE, certified_until DATE, line BIGINT);
        CREATE OR REPLACE TABLE records (
            rid BIGINT PRIMARY KEY, source VARCHAR, kind VARCHAR, record_id VARCHAR, line BIGINT,
            occurred_at TIMESTAMP, person_id VARCHAR, id_number VARCHAR, id_number_raw VARCHAR, name VARCHAR,
            name_pinyin VARCHAR, sex VARCHAR, birth_date DATE, phone VARCHAR, card_no VARCHAR,
            county_code VARCHAR, passed BOOLEAN);
        CREATE OR REPLACE TABLE rejects (source VARCHAR, record_id VARCHAR, line BIGINT, reason VARCHAR);
        CREATE OR REPLACE TABLE registry_warnings (person_id VARCHAR, line BIGINT, reason VARCHAR);
        CREATE OR REPLACE TABLE source_counts (
            source VARCHAR PRIMARY KEY, kind VARCHAR, file VARCHAR, input_rows BIGINT, rejected_rows BIGINT);
    """)


def _stage_raw(con: duckdb.DuckDBPyConnection, result: ReadResult, file: FileSpec) -> None:
    """The file's strings in `_raw`, with every canonical column present (NULL where the file lacks it)."""
    table = result.table
    wanted = file.canonical_columns if file.kind == "registry" else CHANNEL_COLUMNS
    present = [c for c in wanted if c in file.canonical_columns and c in table.column_names]
    table = table.select([*present, "line"])
    for column in wanted:
        if column not in present:
            table = table.append_column(column, pa.nulls(table.num_rows, pa.string()))
    con.register("_arrow", table)
    con.execute("CREATE OR REPLACE TEMP TABLE _raw AS SELECT * FROM _arrow")
    con.unregister("_arrow")


def _normalised_columns(as_of: dt.date) -> str:
    """SELECT list turning `_raw` strings into normalised values and per-field reasons."""
    id_value, id_reason = id_numbers.id_number_sql("id_number", as_of)
    name_value, name_reason = names.name_sql("name")
    sex_value, sex_reason = sex.sex_sql("sex")
    birth_value, birth_reason = dates.date_sql("birth_date", "birth_date")
    phone_value, phone_reason = phones.phone_sql("phone")
    return f"""
        line,
        {_text('id_number', id_numbers.clean_sql)} AS id_number_raw,
        {id_value} AS id_number, {id_reason} AS id_reason,
        {name_value} AS name, {name_reason} AS name_reason,
        {sex_value} AS sex_given, {sex_reason} AS sex_reason,
        {birth_value} AS birth_given, {birth_reason} AS birth_reason,
        {phone_value} AS phone, {phone_reason} AS phone_reason,
        {_text('card_no', _card_sql)} AS card_no,
        CASE WHEN regexp_matches({_text('county_code')}, '^[0-9]{{6}}$') THEN {_text('county_code')} END
            AS county_code"""


def _text(column: str, clean=None) -> str:
    """NULLIF(trimmed half-width text, '') of a raw column, optionally cleaned further."""
    trimmed = f"trim({half_width_sql(f'CAST({column} AS VARCHAR)')}, {sql_string(WHITESPACE)})"
    return f"nullif({clean(trimmed) if clean else trimmed}, '')"


def _card_sql(expr: str) -> str:
    return f"upper({translate_sql(expr, WHITESPACE + '-', '')})"


def _identity_fill() -> str:
    """Birth date and sex from the ID number where the row does not give them."""
    return f"""
        coalesce(birth_given, CASE WHEN id_number IS NOT NULL THEN {id_numbers.birth_date_sql('id_number')} END)
            AS birth_date,
        coalesce(sex_given, CASE WHEN id_number IS NOT NULL THEN {id_numbers.sex_sql('id_number')} END) AS sex"""


def _ingest_registry(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    until, until_reason = dates.date_sql("certified_until", "certified_until")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _norm AS
        SELECT *, {_identity_fill()},
               count(*) OVER (PARTITION BY person_id) AS copies,
               min(line) OVER (PARTITION BY person_id) AS first_line
        FROM (SELECT {_text('person_id')} AS person_id, {_normalised_columns(as_of)},
                     {_text('unit_id')} AS unit_id,
                     try_cast(replace(replace(replace({_text('monthly_pension')}, ',', ''), '¥', ''), '元', '')
                              AS DOUBLE) AS monthly_pension,
                     {_text('monthly_pension')} AS pension_text,
                     {until} AS certified_until, {until_reason} AS until_reason
              FROM _raw)
    """)
    con.execute("""
        INSERT INTO rejects
        SELECT 'registry', coalesce(person_id, ''), line,
               CASE WHEN person_id IS NULL THEN 'person_id is empty'
                    ELSE 'person_id ' || person_id || ' repeats line ' || first_line END
        FROM _norm WHERE person_id IS NULL OR line <> first_line
    """)
    con.execute(f"""
        INSERT INTO registry
        SELECT person_id, id_number, id_number_raw, name, NULL, sex, birth_date, phone, card_no, county_code,
               unit_id, monthly_pension, certified_until, line
        FROM _norm WHERE person_id IS NOT NULL AND line = first_line
    """)
    con.execute("""
        INSERT INTO registry_warnings
        SELECT person_id, line, unnest([id_reason, name_reason, sex_reason, birth_reason, phone_reason, until_reason,
               CASE WHEN pension_text IS NOT NULL AND monthly_pension IS NULL
                    THEN 'monthly_pension ' || pension_text || ' is not a number' END]) AS reason
        FROM _norm WHERE person_id IS NOT NULL AND line = first_line
    """)
    con.execute("DELETE FROM registry_warnings WHERE reason IS NULL")
    _fill_pinyin(con, "registry")


def _ingest_source(con: duckdb.DuckDBPyConnection, file: FileSpec, as_of: dt.date) -> None:
    occurred, occurred_reason = dates.timestamp_sql("occurred_at", "occurred_at")
    passed_text = f"lower({_text('passed')})"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _norm AS
        SELECT *, {_identity_fill()},
               min(line) OVER (PARTITION BY record_id) AS first_line
        FROM (SELECT {_text('record_id')} AS record_id, {_normalised_columns(as_of)},
                     {_text('occurred_at')} AS occurred_text, {occurred} AS occurred_at,
                     {occurred_reason} AS occurred_reason,
                     {_text('person_id')} AS person_id, {passed_text} AS passed_text,
                     CASE WHEN {passed_text} IN ({_sql_list(PASSED_TRUE)}) THEN true
                          WHEN {passed_text} IN ({_sql_list(PASSED_FALSE)}) THEN false END AS passed
              FROM _raw)
    """)
    channel = file.kind in ("face", "in_person")
    reason = f"""CASE
        WHEN record_id IS NULL THEN 'record_id is empty'
        WHEN line <> first_line THEN 'record_id ' || record_id || ' repeats line ' || first_line
        WHEN occurred_text IS NULL THEN 'occurred_at is empty'
        WHEN occurred_reason IS NOT NULL THEN occurred_reason
        WHEN CAST(occurred_at AS DATE) > DATE '{as_of.isoformat()}'
            THEN 'occurred_at ' || strftime(occurred_at, '%Y-%m-%d') || ' is after the round date {as_of.isoformat()}'
        {_channel_reasons() if channel else ''}
        WHEN id_number IS NULL AND name IS NULL AND phone IS NULL AND card_no IS NULL AND person_id IS NULL
            THEN coalesce(id_reason, phone_reason, name_reason,
                          'no identifying field: id_number, name, phone and card_no are all empty')
        END"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _judged AS SELECT *, {reason} AS reject_reason FROM _norm")
    con.execute(f"""
        INSERT INTO rejects
        SELECT {sql_string(file.name)}, coalesce(record_id, ''), line, reject_reason
        FROM _judged WHERE reject_reason IS NOT NULL
    """)
    offset = con.execute("SELECT coalesce(max(rid), 0) FROM records").fetchall()[0][0]
    con.execute(f"""
        INSERT INTO records
        SELECT {offset} + row_number() OVER (ORDER BY line), {sql_string(file.name)}, {sql_string(file.kind)},
               record_id, line, occurred_at, person_id, id_number, id_number_raw, name, NULL, sex, birth_date,
               phone, card_no, county_code, passed
        FROM _judged WHERE reject_reason IS NULL
    """)
    con.execute("DROP TABLE _judged")
    _fill_pinyin(con, "records", f"records.source = {sql_string(file.name)}")


def _channel_reasons() -> str:
    return f"""
        WHEN passed_text IS NOT NULL AND passed IS NULL
            THEN 'passed ' || passed_text || ' is neither true nor false'
        WHEN person_id IS NULL AND id_number IS NULL
            THEN coalesce(id_reason, 'a face or in-person check needs person_id or a valid id_number')"""


def _fill_pinyin(con: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> None:
    """Pinyin per distinct name (readings cached per character); `where` is qualified with the table name."""
    names.build_name_pinyin(con, f"(SELECT name FROM {table} WHERE {where})", into="_pinyin")
    con.execute(f"""
        UPDATE {table} SET name_pinyin = p.pinyin FROM _pinyin p
        WHERE {table}.name = p.name AND {where}
    """)
    con.execute("DROP TABLE _pinyin")


def _record_bad_rows(con: duckdb.DuckDBPyConnection, result: ReadResult, file: FileSpec) -> None:
    if not result.bad_rows:
        return
    rows = pa.table({
        "source": [file.name] * len(result.bad_rows),
        "record_id": [b.record_id for b in result.bad_rows],
        "line": pa.array([b.line for b in result.bad_rows], pa.int64()),
        "reason": [b.reason for b in result.bad_rows],
    })
    con.register("_bad", rows)
    con.execute("INSERT INTO rejects SELECT * FROM _bad")
    con.unregister("_bad")


def _count(con: duckdb.DuckDBPyConnection, file: FileSpec, result: ReadResult) -> None:
    rejected = con.execute("SELECT count(*) FROM rejects WHERE source = ?", [file.name]).fetchall()[0][0]
    con.execute("INSERT INTO source_counts VALUES (?, ?, ?, ?, ?)",
                [file.name, file.kind, str(file.path.name), result.table.num_rows + len(result.bad_rows), rejected])


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(sql_string(v) for v in values)
