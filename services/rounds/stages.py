"""The six stages of a round, each a thin call into the service that owns the work."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

import pyarrow as pa

from silentcert.graph import sql
from silentcert.graph.store import AUDITED_SCHEMA, GraphStore
from silentcert.services.deathcheck.deathcheck_stage import check_round
from silentcert.services.deathcheck.round_audit import AUDITED_ACTIONS
from silentcert.services.liveness.lapse_forecast import forecast_lapses
from silentcert.services.liveness.score_stage import score_round
from silentcert.services.resolver.ingest_stage import ingest_round
from silentcert.services.resolver.resolve_stage import LinkMemory, link_round
from silentcert.services.rounds.context import RoundContext
from silentcert.services.rounds.payments import HELD_STATES, PREVIOUS_HELD
from silentcert.services.rounds.publish import publish_round


def ingest(ctx: RoundContext) -> dict[str, Any]:
    return ingest_round(ctx.con, ctx.spec, ctx.progress)


def resolve(ctx: RoundContext) -> dict[str, Any]:
    linkage = ctx.settings.linkage
    if linkage.save_model_path is None:
        linkage = dataclasses.replace(linkage, save_model_path=ctx.state_dir / "linkage_model.json")
    steps = ("deterministic", "splink", "identifiers", "links")
    _load_decided(ctx)  # a duplicate pair a reviewer dismissed no longer shares evidence (resolver/dedupe.py)

    def step_done(step: str, _stats: dict[str, Any]) -> None:
        ctx.progress.advance("resolve", steps.index(step) + 1, len(steps), unit="passes")

    resources = ctx.settings.resources
    memory = LinkMemory(engine=resources.linkage_limit, working_while_linking=resources.linking_limit,
                        working=resources.memory_limit)
    return link_round(ctx.con, linkage, progress=step_done, memory=memory)


def score(ctx: RoundContext) -> dict[str, Any]:
    _load_previous(ctx, "previous_periods", lambda store: store.periods(before_round=ctx.spec.round_id),
                   schema=pa.schema([("person_id", pa.string()), ("status", pa.string()),
                                     ("certified_until", pa.date32())]))
    return score_round(ctx.con, ctx.spec.as_of, ctx.settings.liveness)


def deathcheck(ctx: RoundContext) -> dict[str, Any]:
    _load_decided(ctx)
    before = datetime.combine(ctx.spec.as_of, time(), UTC)  # round events are dated as_of midnight UTC
    _load_previous(ctx, "audited_before", lambda store: store.audited(AUDITED_ACTIONS, before),
                   schema=AUDITED_SCHEMA)
    return check_round(ctx.con, ctx.spec.as_of, ctx.spec.round_id, ctx.settings.deathcheck)


def forecast(ctx: RoundContext) -> dict[str, Any]:
    return forecast_lapses(ctx.con, ctx.spec.as_of, ctx.settings.liveness)


def publish(ctx: RoundContext) -> dict[str, Any]:
    # Read again by a resumed publish: held_periods leaves out this round's own verdicts, so the answer is the same.
    _load_previous(ctx, "previous_held",
                   lambda store: store.held_periods(ctx.spec.round_id, ctx.spec.as_of, HELD_STATES),
                   schema=PREVIOUS_HELD)
    return publish_round(ctx)


_LOAD_PREVIOUS = "CREATE OR REPLACE TABLE {table} AS SELECT * FROM _previous"


def _load_previous(ctx: RoundContext, table: str, read: Callable[[GraphStore], pa.Table], schema: pa.Schema) -> None:
    """Copy what the system of record (the last store: Neo4j when configured) knows from earlier rounds."""
    data = read(ctx.stores[-1]) if ctx.stores else schema.empty_table()
    data = data.select(schema.names).cast(schema) if data.num_rows else schema.empty_table()
    ctx.con.register("_previous", data)
    sql.run(ctx.con, f"load_{table}", sql.with_idents(_LOAD_PREVIOUS, table=table))
    ctx.con.unregister("_previous")


def _load_decided(ctx: RoundContext) -> None:
    _load_previous(ctx, "decided_flags", _decided_flags_table,
                   schema=pa.schema([("flag_id", pa.string()), ("status", pa.string()),
                                     ("decided_by", pa.string()), ("decided_at", pa.timestamp("us", tz="UTC")),
                                     ("note", pa.string())]))


def _decided_flags_table(store: GraphStore) -> pa.Table:
    flags = store.decided_flags()
    return pa.Table.from_pylist([
        {"flag_id": f.flag_id, "status": f.status, "decided_by": f.decided_by, "decided_at": f.decided_at,
         "note": f.note}
        for f in flags
    ])
