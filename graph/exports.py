"""The arrow types of a RoundExport's tables, and conforming a table to them before it is published.

Both stores publish exactly these columns with exactly these types, so a round written to the embedded store and
to Neo4j reads back the same. Timestamps are wall-clock (no zone), as the departments report them.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from graph.store import EXPORT_COLUMNS
from services.errors import InvalidInput

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


def conform(table_name: str, table: pa.Table) -> pa.Table:
    """The export columns in order, cast to their types, one row per key.

    Raises InvalidInput naming the table and column when a column is missing, cannot be cast, or a key repeats."""
    missing = [c for c in EXPORT_COLUMNS[table_name] if c not in table.column_names]
    if missing:
        raise InvalidInput(f"{table_name}: missing column(s) {', '.join(missing)}", field=f"{table_name}.{missing[0]}")
    target = schema(table_name)
    columns = [_cast(table_name, f.name, table.column(f.name), f.type) for f in target]
    out = pa.Table.from_arrays(columns, schema=target)
    _check_keys(table_name, out)
    if table_name == "identifiers":
        _check_identifier_kinds(out)
    return out


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


def _check_identifier_kinds(identifiers: pa.Table) -> None:
    kinds = set(pc.unique(identifiers.column("kind")).to_pylist()) - set(IDENTIFIER_KINDS)
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
