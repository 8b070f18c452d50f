"""The ingest stage: read every file of a round, normalise it set-wise in DuckDB, reject what cannot be used.

Output tables (docs/architecture.md): `registry`, `records`, `rejects`, `source_counts`.

A source row is rejected only when it cannot be used at all: no record_id, a repeated record_id, no usable
occurred_at, a date after the round's reference date, a face/in-person row that names nobody, or no identifying
field left after normalisation. A row whose ID number is malformed but which still carries a name, phone or card
is kept (its cleaned raw ID feeds the fuzzy comparison) — that is what probabilistic linkage is for; so is one whose
ID fails only its check (one slip from the number meant, repairable) and which carries a birth date. Registry rows
are rejected only for a missing or repeated person_id: a pensioner is never dropped for a bad phone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa

from silentcert.graph import sql
from silentcert.services.resolver import dates, id_numbers, names, phones, sex
from silentcert.services.rounds.progress import Progress
from silentcert.services.rounds.readers import ReadResult, read_file
from silentcert.services.rounds.roundfile import CHANNEL_COLUMNS, REGISTRY_COLUMNS, FileSpec, RoundSpec

# A record's surrogate key: its file's place in round.toml and its line, so it is stable across runs and needs
# no sort to assign.
RID_PER_FILE = 10_000_000_000

PASSED_TRUE = ("true", "t", "1", "yes", "y", "pass", "passed", "是", "通过", "成功")
PASSED_FALSE = ("false", "f", "0", "no", "n", "fail", "failed", "否", "未通过", "失败")

# Source files are staged as text and normalised together until this many rows are staged: one batch holds a 1M
# round's ~10M records (a value repeated across batches is normalised once per batch, so fewer batches cost
# less), while a 8.5M round's 90M rows never sit in the database as raw text all at once (they spilled past the
# disk; see docs/benchmarks.md, "Whole round, embedded store").
INGEST_BATCH_ROWS = 12_000_000


_SOURCE_COUNT = "INSERT INTO source_counts VALUES ($source, $kind, $file, $rows, 0)"
_REJECTED_COUNTS = """
UPDATE source_counts SET rejected_rows = r.n
FROM (SELECT source, count(*) AS n FROM rejects GROUP BY source) r WHERE source_counts.source = r.source
"""
_DROP_TABLE = "DROP TABLE {table}"
_DROP_NAME_VALUES = "DROP VIEW IF EXISTS raw_name_values"
_TOTALS = "SELECT sum(input_rows), sum(rejected_rows) FROM source_counts WHERE source <> 'registry'"
_PENSIONERS = "SELECT count(*) FROM registry"


def ingest_round(con: duckdb.DuckDBPyConnection, spec: RoundSpec, progress: Progress) -> dict[str, Any]:
    """Read and normalise the registry and every source; returns counts per source.

    Files are first loaded as text; each messy column is then normalised once per *distinct* value (a province
    repeats the same dates, ID numbers, names and phones millions of times) and joined back, in batches of
    about INGEST_BATCH_ROWS rows.
    """
    _create_tables(con)
    files = [spec.registry, *spec.sources]
    staged = 0
    for index, file in enumerate(files):
        result = read_file(file)
        _stage_raw(con, result, file, index)
        _record_bad_rows(con, result, file)
        rows = result.table.num_rows + len(result.bad_rows)
        sql.run(con, "ingest_source_count", _SOURCE_COUNT,
                {"source": file.name, "kind": file.kind, "file": file.path.name, "rows": rows})
        del result
        staged += rows
        if file.kind == "registry" or staged >= INGEST_BATCH_ROWS or index == len(files) - 1:
            _normalise_staged(con, spec.as_of)
            staged = 0
        progress.advance("ingest", index + 1, len(files), unit="files")
    sql.run(con, "ingest_rejected_counts", _REJECTED_COUNTS)
    sql.run(con, "ingest_drop_name_values", _DROP_NAME_VALUES)
    for table in ["raw_registry", "raw_records", *DICTIONARIES, PINYIN]:
        sql.run(con, "ingest_drop_scratch", sql.with_idents(_DROP_TABLE, table=table))
    others = ingest_other_registries(con, spec)
    totals = sql.fetchall(con, "ingest_totals", _TOTALS)[0]
    return {
        "pensioners": sql.scalar(con, "ingest_pensioners", _PENSIONERS),
        "source_rows": int(totals[0] or 0),
        "rejected": int(totals[1] or 0),
        **({"other_registries": others} if others else {}),
    }


def _normalise_staged(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Normalise what is staged in the raw tables into `registry`/`records`/`rejects`, then empty them."""
    _build_dictionaries(con, as_of)
    _ingest_registry(con)
    _ingest_records(con, as_of)
    _create_raw_tables(con)


# the staging tables: every column of the file kind as text ({columns}: "c1" VARCHAR, "c2" VARCHAR, ...)
_CREATE_RAW_REGISTRY = "CREATE OR REPLACE TEMP TABLE raw_registry ({columns}, line BIGINT)"
_CREATE_RAW_RECORDS = """
CREATE OR REPLACE TEMP TABLE raw_records (file_index INTEGER, source VARCHAR, kind VARCHAR, {columns}, line BIGINT)
"""

_CREATE_TABLES = """
        CREATE OR REPLACE TABLE registry (
            person_id VARCHAR PRIMARY KEY, id_number VARCHAR, id_number_raw VARCHAR, name VARCHAR,
            name_pinyin VARCHAR, sex VARCHAR, birth_date DATE, phone VARCHAR, card_no VARCHAR,
            county_code VARCHAR, unit_id VARCHAR, monthly_pension DOUBLE, certified_until DATE, line BIGINT);
        CREATE OR REPLACE TABLE records (
            rid BIGINT NOT NULL, source VARCHAR, kind VARCHAR, record_id VARCHAR, line BIGINT,
            occurred_at TIMESTAMP, person_id VARCHAR, id_number VARCHAR, id_number_raw VARCHAR, name VARCHAR,
            name_pinyin VARCHAR, sex VARCHAR, birth_date DATE, phone VARCHAR, card_no VARCHAR,
            county_code VARCHAR, passed BOOLEAN);
        CREATE OR REPLACE TABLE rejects (source VARCHAR, record_id VARCHAR, line BIGINT, reason VARCHAR);
        CREATE OR REPLACE TABLE registry_warnings (person_id VARCHAR, line BIGINT, reason VARCHAR);
        CREATE OR REPLACE TABLE source_counts (
            source VARCHAR PRIMARY KEY, kind VARCHAR, file VARCHAR, input_rows BIGINT, rejected_rows BIGINT);
"""


def _create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    sql.run(con, "ingest_create_raw_registry",
            sql.with_idents(_CREATE_RAW_REGISTRY, columns=dict.fromkeys(REGISTRY_COLUMNS, "VARCHAR")))
    sql.run(con, "ingest_create_raw_records",
            sql.with_idents(_CREATE_RAW_RECORDS, columns=dict.fromkeys(CHANNEL_COLUMNS, "VARCHAR")))


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    _create_raw_tables(con)
    sql.run(con, "ingest_create_tables", _CREATE_TABLES)


# the file's columns by name; those it lacks stay NULL
_STAGE_REGISTRY = "INSERT INTO raw_registry BY NAME SELECT {columns} FROM _arrow"
_STAGE_RECORDS = """
INSERT INTO raw_records BY NAME SELECT $file_index AS file_index, $source AS source, $kind AS kind, {columns} FROM _arrow
"""


def _stage_raw(con: duckdb.DuckDBPyConnection, result: ReadResult, file: FileSpec, index: int) -> None:
    """Append the file's strings to `raw_registry` or `raw_records`; absent columns are NULL."""
    table = result.table
    wanted = REGISTRY_COLUMNS if file.kind == "registry" else CHANNEL_COLUMNS
    present = [c for c in wanted if c in file.canonical_columns and c in table.column_names]
    con.register("_arrow", table.select([*present, "line"]))
    if file.kind == "registry":
        sql.run(con, "ingest_stage_registry", sql.with_idents(_STAGE_REGISTRY, columns=[*present, "line"]))
    else:
        sql.run(con, "ingest_stage_records", sql.with_idents(_STAGE_RECORDS, columns=[*present, "line"]),
                {"file_index": index, "source": file.name, "kind": file.kind})
    con.unregister("_arrow")


# ---- normalisation, once per distinct value -----------------------------------------------------------------
# One table per messy column family: raw text -> normalised value and reason, made anew for each batch. Kept
# across batches, they grew past the batches themselves at 8.5M pensioners (nearly every timestamp is distinct)
# and every batch's joins paid for building their hash tables again.

PINYIN = "name_pinyin_values"  # normalised name -> pinyin
DICTIONARIES = ("normalised_ids", "normalised_times", "normalised_names", "normalised_phones", "normalised_sexes")

# Each dictionary: the distinct raw values of its columns in the staged tables (_new), normalised by the twins of
# the Python normalisers; {value}, {reason} and the like are their SQL expressions over `raw` (graph.sql.compose).
_D_ID = """
CREATE OR REPLACE TEMP TABLE normalised_ids AS
WITH _new AS (SELECT DISTINCT raw FROM (SELECT id_number AS raw FROM raw_registry
                                        UNION ALL SELECT id_number AS raw FROM raw_records) WHERE raw IS NOT NULL)
SELECT *, CASE WHEN value IS NOT NULL THEN {born} END AS born,
          CASE WHEN value IS NOT NULL THEN {id_sex} END AS id_sex
FROM (SELECT raw, {clean} AS clean, {value} AS value, {reason} AS reason FROM _new)
"""
_D_TIME = """
CREATE OR REPLACE TEMP TABLE normalised_times AS
WITH _new AS (SELECT DISTINCT raw FROM (SELECT birth_date AS raw FROM raw_registry
                                        UNION ALL SELECT certified_until AS raw FROM raw_registry
                                        UNION ALL SELECT occurred_at AS raw FROM raw_records
                                        UNION ALL SELECT birth_date AS raw FROM raw_records) WHERE raw IS NOT NULL)
SELECT raw, {value} AS value, {reason} AS reason FROM _new
"""
_D_NAME = """
CREATE OR REPLACE TEMP TABLE normalised_names AS
WITH _new AS (SELECT DISTINCT raw FROM (SELECT name AS raw FROM raw_registry
                                        UNION ALL SELECT name AS raw FROM raw_records) WHERE raw IS NOT NULL)
SELECT raw, {value} AS value, {reason} AS reason FROM _new
"""
_D_PHONE = """
CREATE OR REPLACE TEMP TABLE normalised_phones AS
WITH _new AS (SELECT DISTINCT raw FROM (SELECT phone AS raw FROM raw_registry
                                        UNION ALL SELECT phone AS raw FROM raw_records) WHERE raw IS NOT NULL)
SELECT raw, {value} AS value, {reason} AS reason, {local} AS local FROM _new
"""
_D_SEX = """
CREATE OR REPLACE TEMP TABLE normalised_sexes AS
WITH _new AS (SELECT DISTINCT raw FROM (SELECT sex AS raw FROM raw_registry
                                        UNION ALL SELECT sex AS raw FROM raw_records) WHERE raw IS NOT NULL)
SELECT raw, {value} AS value, {reason} AS reason FROM _new
"""


def _dictionary_statements() -> dict[str, str]:
    """Per dictionary, its statement with the normalisers' expressions put in (the ID's bind ``$born_by``)."""
    id_value, id_reason = id_numbers.id_number_sql("raw", "$born_by")
    stamp, stamp_reason = dates.timestamp_sql("raw", FIELD_MARK)
    name_value, name_reason = names.name_sql("raw")
    phone_value, phone_reason, phone_local = phones.phone_sql("raw")
    sex_value, sex_reason = sex.sex_sql("raw")
    return {
        "normalised_ids": sql.compose(_D_ID, born=id_numbers.birth_date_sql("value"), id_sex=id_numbers.sex_sql("value"),
                             clean=id_numbers.clean_sql("raw"), value=id_value, reason=id_reason),
        "normalised_times": sql.compose(_D_TIME, value=stamp, reason=stamp_reason),
        "normalised_names": sql.compose(_D_NAME, value=name_value, reason=name_reason),
        "normalised_phones": sql.compose(_D_PHONE, value=phone_value, reason=phone_reason, local=phone_local),
        "normalised_sexes": sql.compose(_D_SEX, value=sex_value, reason=sex_reason),
    }


def _build_dictionaries(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """The dictionaries of the staged batch: its distinct raw values, normalised."""
    for table, statement in _dictionary_statements().items():
        sql.run(con, f"ingest_dictionary{table}", statement, {"born_by": id_numbers.born_by(as_of)})
    sql.run(con, "ingest_name_values", _NAME_VALUES)
    names.build_name_pinyin(con, "raw_name_values", into=PINYIN)


_NAME_VALUES = "CREATE OR REPLACE TEMP VIEW raw_name_values AS SELECT value AS name FROM normalised_names"

FIELD_MARK = "<field>"  # dictionary reasons name the column only when joined back (the replace() below)

# Joins from a raw table aliased `r` to the dictionaries, and the columns registry and records share: identifier-like
# text trimmed, empty as NULL (cards also lose inner spaces and dashes), county codes of six digits only.
_JOINS = """
        LEFT JOIN normalised_ids i ON i.raw = r.id_number
        LEFT JOIN normalised_names n ON n.raw = r.name
        LEFT JOIN name_pinyin_values py ON py.name = n.value
        LEFT JOIN normalised_sexes x ON x.raw = r.sex
        LEFT JOIN normalised_times b ON b.raw = r.birth_date
        LEFT JOIN normalised_phones ph ON ph.raw = r.phone"""
_COMMON_COLUMNS = """
        nullif(i.clean, '') AS id_number_raw, i.value AS id_number, i.reason AS id_reason,
        n.value AS name, py.pinyin AS name_pinyin, n.reason AS name_reason,
        coalesce(x.value, i.id_sex) AS sex,
        x.reason AS sex_reason,
        coalesce(CAST(b.value AS DATE), i.born) AS birth_date,
        replace(b.reason, '<field>', 'birth_date') AS birth_reason,
        ph.value AS phone, ph.reason AS phone_reason, ph.local AS phone_local,
        nullif(upper(regexp_replace(trim(r.card_no), '[\\s\\-]', '', 'g')), '') AS card_no,
        CASE WHEN regexp_matches(nullif(trim(r.county_code), ''), '^[0-9]{6}$') THEN nullif(trim(r.county_code), '') END
            AS county_code"""

# Landlines written without an area code take their row's county's; {completed}: phones.completed_phone_sql
_COMPLETE_LANDLINES = """
        UPDATE _norm SET phone = {completed}, phone_reason = NULL
        WHERE phone_local IS NOT NULL AND {completed} IS NOT NULL
"""


def _complete_landlines(con: duckdb.DuckDBPyConnection) -> None:
    """Landlines written without an area code take their row's county's (per row: the county is the row's).

    Only the rows whose phone was a bare local number are touched; without a mapped county they keep
    their reason (a reject, or a registry warning).
    """
    completed = phones.completed_phone_sql("phone_local", "county_code")
    sql.run(con, "ingest_complete_landlines", sql.compose(_COMPLETE_LANDLINES, completed=completed))


_NORMALISE_REGISTRY = """
        CREATE OR REPLACE TEMP TABLE _norm AS
        SELECT r.line, nullif(trim(r.person_id), '') AS person_id, {common},
               nullif(trim(r.unit_id), '') AS unit_id,
               try_cast(regexp_replace(trim(r.monthly_pension), '[,¥￥元\\s]', '', 'g') AS DOUBLE) AS monthly_pension,
               nullif(trim(r.monthly_pension), '') AS pension_text,
               CAST(u.value AS DATE) AS certified_until,
               replace(u.reason, '<field>', 'certified_until') AS until_reason
        FROM raw_registry r {joins} LEFT JOIN normalised_times u ON u.raw = r.certified_until
"""


def _ingest_registry(con: duckdb.DuckDBPyConnection) -> None:
    sql.run(con, "ingest_normalise_registry",
            sql.compose(_NORMALISE_REGISTRY, common=_COMMON_COLUMNS, joins=_JOINS))
    _complete_landlines(con)
    _find_repeats(con, ("person_id",))
    sql.run(con, "ingest_registry", _REGISTRY)

_REGISTRY = """
        CREATE OR REPLACE TEMP VIEW _keyed AS
        SELECT *, coalesce(first_line, line) = line AS first FROM _norm LEFT JOIN _repeats USING (person_id);
        INSERT INTO rejects
        SELECT 'registry', coalesce(person_id, ''), line,
               CASE WHEN person_id IS NULL THEN 'person_id is empty'
                    ELSE 'person_id ' || person_id || ' repeats line ' || first_line END
        FROM _keyed WHERE person_id IS NULL OR NOT first;
        INSERT INTO registry
        SELECT person_id, id_number, id_number_raw, name, name_pinyin, sex, birth_date, phone, card_no,
               county_code, unit_id, monthly_pension, certified_until, line
        FROM _keyed WHERE person_id IS NOT NULL AND first ORDER BY line;
        INSERT INTO registry_warnings
        SELECT person_id, line, reason FROM (
            SELECT person_id, line, unnest([id_reason, name_reason, sex_reason, birth_reason, phone_reason,
                   until_reason, CASE WHEN pension_text IS NOT NULL AND monthly_pension IS NULL
                                      THEN 'monthly_pension ' || pension_text || ' is not a number' END]) AS reason
            FROM _keyed WHERE person_id IS NOT NULL AND first)
        WHERE reason IS NOT NULL;
        DROP VIEW _keyed; DROP TABLE _norm; DROP TABLE _repeats;
"""


_REPEATS = """
CREATE OR REPLACE TEMP TABLE _repeats AS SELECT {key}, min(line) AS first_line FROM _norm GROUP BY ALL HAVING count(*) > 1
"""


def _find_repeats(con: duckdb.DuckDBPyConnection, key: tuple[str, ...]) -> None:
    """Temp table `_repeats(<key>, first_line)`: the keys of `_norm` on more than one line, and their first line.

    A grouping rather than a window over every row: almost no key repeats, and a window partitions every row to
    find the few that do (ingest's time: docs/benchmarks.md, "Whole round, embedded store").
    """
    sql.run(con, "ingest_find_repeats", sql.with_idents(_REPEATS, key=list(key)))


_NORMALISE_RECORDS = """
        CREATE OR REPLACE TEMP TABLE _norm AS
        SELECT r.file_index, r.source, r.kind, r.line, nullif(trim(r.record_id), '') AS record_id,
               {common},
               nullif(trim(r.occurred_at), '') AS occurred_text, t.value AS occurred_at,
               replace(t.reason, '<field>', 'occurred_at') AS occurred_reason,
               nullif(trim(r.person_id), '') AS person_id, nullif(lower(trim(r.passed)), '') AS passed_text,
               CASE WHEN list_contains($passed_true, lower(trim(r.passed))) THEN true
                    WHEN list_contains($passed_false, lower(trim(r.passed))) THEN false END AS passed
        FROM raw_records r {joins} LEFT JOIN normalised_times t ON t.raw = r.occurred_at
"""

# Why a record is rejected (NULL: kept); {repairable}: id_numbers.fails_check_sql over the cleaned raw ID. The
# reason is computed twice, by _REJECT_RECORDS and _KEEP_RECORDS, rather than materialising _norm again with it (a
# copy of every record).
_REJECT_REASON = """CASE
        WHEN record_id IS NULL THEN 'record_id is empty'
        WHEN line <> first_line THEN 'record_id ' || record_id || ' repeats line ' || first_line
        WHEN occurred_text IS NULL THEN 'occurred_at is empty'
        WHEN occurred_reason IS NOT NULL THEN occurred_reason
        WHEN CAST(occurred_at AS DATE) > $as_of::DATE
            THEN 'occurred_at ' || strftime(occurred_at, '%Y-%m-%d') || ' is after the round date '
                 || strftime($as_of::DATE, '%Y-%m-%d')
        WHEN kind IN ('face', 'in_person') AND passed_text IS NOT NULL AND passed IS NULL
            THEN 'passed ' || passed_text || ' is neither true nor false'
        WHEN kind IN ('face', 'in_person') AND person_id IS NULL AND id_number IS NULL
            THEN coalesce(id_reason, 'a face or in-person check needs person_id or a valid id_number')
        WHEN id_number IS NULL AND name IS NULL AND phone IS NULL AND card_no IS NULL AND person_id IS NULL
             AND NOT (birth_date IS NOT NULL AND {repairable})
            THEN coalesce(id_reason, phone_reason, name_reason,
                          'no identifying field: id_number, name, phone and card_no are all empty')
        END"""
_REJECT_RECORDS = """
        INSERT INTO rejects
        SELECT source, coalesce(record_id, ''), line, reject_reason
        FROM (SELECT *, {reason} AS reject_reason FROM _norm LEFT JOIN _repeats USING (source, record_id))
        WHERE reject_reason IS NOT NULL
"""
_KEEP_RECORDS = """
        INSERT INTO records
        SELECT $rid_per_file * file_index + line, source, kind, record_id, line, occurred_at,
               person_id, id_number, id_number_raw, name, name_pinyin, sex, birth_date, phone, card_no,
               county_code, passed
        FROM _norm LEFT JOIN _repeats USING (source, record_id) WHERE ({reason}) IS NULL
"""


def _ingest_records(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    sql.run(con, "ingest_normalise_records", sql.compose(_NORMALISE_RECORDS, common=_COMMON_COLUMNS, joins=_JOINS),
            {"passed_true": list(PASSED_TRUE), "passed_false": list(PASSED_FALSE)})
    _complete_landlines(con)
    _find_repeats(con, ("source", "record_id"))
    reason = sql.compose(_REJECT_REASON, repairable=id_numbers.fails_check_sql("coalesce(id_number_raw, '')"))
    sql.run(con, "ingest_reject_records", sql.compose(_REJECT_RECORDS, reason=reason), {"as_of": as_of})
    sql.run(con, "ingest_records", sql.compose(_KEEP_RECORDS, reason=reason),
            {"as_of": as_of, "rid_per_file": RID_PER_FILE})
    sql.run(con, "ingest_drop_norm", _DROP_NORM)


_DROP_NORM = "DROP TABLE _norm; DROP TABLE _repeats"
_BAD_ROWS = "INSERT INTO rejects SELECT * FROM _bad"
_CREATE_OTHER_REGISTRIES = """
CREATE OR REPLACE TABLE other_registries AS SELECT NULL::VARCHAR AS registry, * FROM registry WHERE false
"""
_LIMITS = "SELECT current_setting('memory_limit'), current_setting('threads')"
_SET_THREADS = "SET threads = $threads"
_ALL_REGISTRY = "SELECT * FROM registry"
_ALL_REJECTS = "SELECT * FROM rejects"
_OTHER_REGISTRY = "INSERT INTO other_registries SELECT $registry, * FROM _other"
_OTHER_REJECTS = "INSERT INTO rejects SELECT $registry, record_id, line, reason FROM _other_rejects"


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
    sql.run(con, "ingest_bad_rows", _BAD_ROWS)
    con.unregister("_bad")


def ingest_other_registries(con: duckdb.DuckDBPyConnection, spec: RoundSpec) -> dict[str, int]:
    """``other_registries``: each further registry of the round (read-only), normalised as the registry is, with
    its name in ``registry``; its bad rows go to ``rejects`` under its name. Each is normalised in a scratch
    database of its own, so the round's tables are never touched by it. Returns the rows kept per registry."""
    sql.run(con, "ingest_create_other_registries", _CREATE_OTHER_REGISTRIES)
    kept = {}
    memory_limit, threads = sql.fetchall(con, "ingest_limits", _LIMITS)[0]
    for file in spec.other_registries:
        scratch = duckdb.connect()  # bounded as the round's database is
        sql.set_memory_limit(scratch, "ingest_scratch_memory", memory_limit)
        sql.run(scratch, "ingest_scratch_threads", _SET_THREADS, {"threads": int(threads)})
        try:
            _create_tables(scratch)
            result = read_file(file)
            _stage_raw(scratch, result, file, 0)
            _record_bad_rows(scratch, result, file)
            _normalise_staged(scratch, spec.as_of)
            table = sql.arrow(scratch, "ingest_other_registry", _ALL_REGISTRY)
            rejects = sql.arrow(scratch, "ingest_other_rejects", _ALL_REJECTS)
        finally:
            scratch.close()
        con.register("_other", table)
        con.register("_other_rejects", rejects)
        sql.run(con, "ingest_other_registry_rows", _OTHER_REGISTRY, {"registry": file.name})
        sql.run(con, "ingest_other_registry_rejects", _OTHER_REJECTS, {"registry": file.name})
        con.unregister("_other")
        con.unregister("_other_rejects")
        kept[file.name] = table.num_rows
    return kept
