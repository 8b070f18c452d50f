"""The arrow types of a RoundExport's tables, and conforming a table to them before it is published.

Both stores publish exactly these columns with exactly these types, so a round written to the embedded store and
to Neo4j reads back the same. Timestamps are wall-clock (no zone), as the departments report them.

A table is a ``pyarrow.Table`` or a :class:`graph.query_table.QueryTable` (a query read in record batches). Stores
call :func:`check` first (missing columns, repeated or missing keys, unknown identifier kinds: nothing is written
when it fails), then read :func:`batches` (conformed record batches), so a 10M-row table is never held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from silentcert.graph.errors import InvalidInput
from silentcert.graph.query_table import QueryTable
from silentcert.graph.store import EXPORT_COLUMNS, ExportTable

_TYPES: dict[str, pa.DataType] = {
    "birth_date": pa.date32(),
    "evidence_at": pa.date32(),
    "certified_until": pa.date32(),
    "monthly_pension": pa.float64(),
    "probability": pa.float64(),
    "match_probability": pa.float64(),
    "overpayment": pa.float64(),
    "occurred_at": pa.timestamp("us"),
    "shared": pa.bool_(),
    "passed": pa.bool_(),
}

KEYS: dict[str, tuple[str, ...]] = {
    "pensioners": ("person_id",),
    "identifiers": ("person_id", "kind", "value"),
    "events": ("key",),
    "flags": ("flag_id",),
    "flag_citations": ("flag_id", "event_key"),
}

IDENTIFIER_KINDS = ("id_number", "phone", "card")


def schema(table_name: str) -> pa.Schema:
    """The arrow schema of one export table (strings unless named in _TYPES)."""
    return pa.schema([(c, _TYPES.get(c, pa.string())) for c in EXPORT_COLUMNS[table_name]])


def conform(table_name: str, table: ExportTable) -> pa.Table:
    """The export columns in order, cast to their types, one row per key, as one arrow table (small tables only).

    Raises InvalidInput naming the table and column when a column is missing, cannot be cast, or a key repeats."""
    check(table_name, table)
    return pa.Table.from_batches(list(batches(table_name, table)), schema=schema(table_name))


def check(table_name: str, table: ExportTable) -> None:
    """Refuse a table with a missing column, a missing or repeated key, or an unknown identifier kind (InvalidInput)."""
    check_columns(table_name, table)
    if isinstance(table, QueryTable):
        check_rows(table_name, table.scalar)
    else:
        arrow: pa.Table = table  # anything but a QueryTable is a pyarrow Table
        _check_keys(table_name, arrow)
        if table_name == "identifiers":
            _refuse_unknown_kinds(pc.unique(arrow.column("kind")).to_pylist())


def check_columns(table_name: str, table: ExportTable) -> None:
    """Refuse a table that lacks an export column (InvalidInput naming it)."""
    missing = [c for c in EXPORT_COLUMNS[table_name] if c not in table.column_names]
    if missing:
        raise InvalidInput(f"{table_name}: missing column(s) {', '.join(missing)}", field=f"{table_name}.{missing[0]}")


def check_rows(table_name: str, scalar: Callable[[str], Any]) -> None:
    """The key and identifier-kind checks of :func:`check` in SQL: `scalar(select)` computes one aggregate over the
    table's rows (QueryTable.scalar, or a query over a store's staged copy of the table)."""
    keys = KEYS[table_name]
    nulls = ", ".join(f"count(*) - count({k})" for k in keys)
    for key, null_count in zip(keys, scalar(f"[{nulls}]")):
        if null_count:
            raise InvalidInput(f"{table_name}.{key}: {null_count} row(s) without a value", field=f"{table_name}.{key}")
    repeated = scalar(f"count(*) - count(DISTINCT ({', '.join(keys)}))")
    if repeated:
        raise InvalidInput(f"{table_name}: {repeated} row(s) repeat a key ({', '.join(keys)})",
                           field=f"{table_name}.{keys[0]}")
    if table_name == "identifiers":
        _refuse_unknown_kinds(scalar("list(DISTINCT kind)") or [])


def batches(table_name: str, table: ExportTable, size: int | None = None) -> Iterator[pa.RecordBatch]:
    """The table as record batches of at most `size` rows with the export columns in order, cast to their types."""
    target = schema(table_name)
    for batch in table.to_batches(max_chunksize=size):
        columns = [_cast(table_name, f.name, batch.column(f.name), f.type) for f in target]
        yield pa.RecordBatch.from_arrays(columns, schema=target)


def reader(table_name: str, table: ExportTable, size: int | None = None) -> pa.RecordBatchReader:
    """:func:`batches` as one arrow stream (DuckDB scans it without holding it whole)."""
    return pa.RecordBatchReader.from_batches(schema(table_name), batches(table_name, table, size))


def rebatch(source: Iterator[pa.RecordBatch], size: int,
            keep: Callable[[pa.RecordBatch], pa.Array] | None = None) -> Iterator[pa.Table]:
    """Tables of exactly `size` rows (the last one fewer) from `source`, keeping only the rows `keep` selects."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in source:
        if keep is not None:
            batch = batch.filter(keep(batch))
        pending.append(batch)
        held += batch.num_rows
        while held >= size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, size)
            rest = table.slice(size).combine_chunks()
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


def is_death(batch: pa.RecordBatch) -> pa.Array:
    """Which event rows are DeathRecords (kind 'death'); the others are Events."""
    return pc.fill_null(pc.equal(batch.column("kind"), "death"), False)


def _cast(table_name: str, column: str, values: pa.ChunkedArray, to: pa.DataType) -> pa.ChunkedArray:
    if values.type == to:
        return values
    try:
        if pa.types.is_timestamp(values.type) and values.type.tz is not None:
            values = pc.local_timestamp(values)
        return values.cast(to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(f"{table_name}.{column}: cannot read {values.type} as {to}: {exc}",
                           field=f"{table_name}.{column}") from exc


def _check_keys(table_name: str, table: pa.Table) -> None:
    keys = list(KEYS[table_name])
    for key in keys:
        if table.column(key).null_count:
            raise InvalidInput(f"{table_name}.{key}: {table.column(key).null_count} row(s) without a value",
                               field=f"{table_name}.{key}")
    distinct = table.select(keys).group_by(keys).aggregate([]).num_rows
    if distinct != table.num_rows:
        raise InvalidInput(f"{table_name}: {table.num_rows - distinct} row(s) repeat a key ({', '.join(keys)})",
                           field=f"{table_name}.{keys[0]}")


def _refuse_unknown_kinds(found: list[str | None]) -> None:
    kinds = set(found) - set(IDENTIFIER_KINDS)
    if kinds:
        raise InvalidInput(f"identifiers.kind: unknown kind(s) {sorted(kinds, key=str)}; expected one of "
                           f"{', '.join(IDENTIFIER_KINDS)}", field="identifiers.kind")


def identifiers_of_kind(identifiers: pa.Table, kind: str) -> pa.Table:
    """The rows of one identifier kind."""
    return identifiers.filter(pc.equal(identifiers.column("kind"), kind))


def events_of_label(events: pa.Table, death: bool) -> pa.Table:
    """DeathRecord rows (kind 'death') or Event rows (every other kind)."""
    is_death = pc.fill_null(pc.equal(events.column("kind"), "death"), False)
    return events.filter(is_death if death else pc.invert(is_death))
