"""ResolverService: protobuf in, domain calls, protobuf out — a few lines per rpc.

The resolver engine and the round pipeline are passed in as callables (services/resolver/batch.py), so the
servicer knows neither Splink nor DuckDB nor the pipeline: ``resolve_one(RecordQuery) -> list[Candidate]``,
``run_round(round_file, out_dir, on_event) -> summary`` where ``on_event(RoundEvent)`` reports progress, and
``output_file(out_dir, name) -> path`` of a finished round's file.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import grpc

from silentcert.graph.errors import NotFound
from silentcert.graph.model import EvidenceEdge, Identifier
from silentcert.graph.store import GraphStore
from silentcert.resolver.v1 import resolver_pb2 as pb
from silentcert.resolver.v1 import resolver_pb2_grpc
from silentcert.services import proto_values as pv
from silentcert.services import request_checks as check
from silentcert.services.resolver.batch import OutputFile, RoundEvent, RoundOutcome, RunRound
from silentcert.services.resolver.one_record import Candidate, RecordQuery, ResolveOne
from silentcert.services.security.round_paths import RoundRoots

DEFAULT_CANDIDATES = 5
MAX_CANDIDATES = 100
CHUNK = 1 << 20  # bytes of a round file per FetchRoundFile message


class ResolverServicer(resolver_pb2_grpc.ResolverServiceServicer):
    """`roots` confines the paths of the batch rpcs (services.security.round_paths); none configured: refused."""

    def __init__(self, store: GraphStore, resolve_one: ResolveOne, run_round: RunRound, output_file: OutputFile,
                 roots: RoundRoots = RoundRoots()):
        self.store = store
        self.resolve_one = resolve_one
        self.run_round = run_round
        self.output_file = output_file
        self.roots = roots

    def ResolveRecord(self, request: pb.ResolveRecordRequest, context: grpc.ServicerContext) -> pb.ResolveRecordResponse:
        query = _record_query(request.record)
        limit = check.bounded(request.max_candidates, "max_candidates", default=DEFAULT_CANDIDATES,
                              maximum=MAX_CANDIDATES)
        candidates = sorted(self.resolve_one(query), key=lambda c: -c.match_probability)[:limit]
        return pb.ResolveRecordResponse(candidates=[_candidate(c) for c in candidates])

    def GetIdentifiers(self, request: pb.GetIdentifiersRequest, context: grpc.ServicerContext) -> pb.GetIdentifiersResponse:
        person_id = check.required(request.person_id, "person_id")
        if self.store.person(person_id=person_id) is None:
            raise NotFound(f"no pensioner with person_id {person_id}")
        return pb.GetIdentifiersResponse(
            person_id=person_id,
            identifiers=[_identifier(i) for i in self.store.identifiers(person_id)],
            linked_records=[_linked_record(e) for e in self.store.evidence(person_id)],
        )

    def SubmitRound(self, request: pb.SubmitRoundRequest, context: grpc.ServicerContext) -> Iterator[pb.SubmitRoundResponse]:
        round_file = self.roots.round_file(check.required(request.round_file, "round_file"))
        out_dir = self.roots.out_dir(check.required(request.out_dir, "out_dir"))
        # round.toml is parsed once, by the round itself (serving.pipeline_runner), which confines what it names
        yield from _stream_round(lambda emit: self.run_round(round_file, out_dir, emit))

    def FetchRoundFile(self, request: pb.FetchRoundFileRequest,
                       context: grpc.ServicerContext) -> Iterator[pb.FetchRoundFileResponse]:
        out_dir = self.roots.out_dir(check.required(request.out_dir, "out_dir"))
        path = self.output_file(out_dir, check.required(request.name, "name"))
        with open(self.roots.output_file(out_dir, path), "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield pb.FetchRoundFileResponse(chunk=chunk)


def _stream_round(run: Callable[[Callable[[RoundEvent], None]], RoundOutcome]) -> Iterator[pb.SubmitRoundResponse]:
    """Run the round in a worker thread and yield its events as they come; re-raise its error at the end."""
    events: queue.Queue[RoundEvent | RoundOutcome | BaseException] = queue.Queue()

    def work() -> None:
        try:
            events.put(run(events.put))
        except BaseException as error:  # noqa: BLE001 — handed to the rpc thread, which raises it
            events.put(error)

    threading.Thread(target=work, name="submit-round", daemon=True).start()
    while True:
        item = events.get()
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, RoundOutcome):
            yield _final_event(item)
            return
        yield pb.SubmitRoundResponse(stage=item.stage, rows_done=item.rows_done, rows_total=item.rows_total,
                                     message=item.message)


def _final_event(outcome: RoundOutcome) -> pb.SubmitRoundResponse:
    summary = pb.RoundSummary(round_id=outcome.round_id, out_dir=str(outcome.out_dir), counts=dict(outcome.counts),
                              figures=dict(outcome.figures))
    return pb.SubmitRoundResponse(stage="done", message=f"round {outcome.round_id} written to {outcome.out_dir}",
                                  summary=summary)


def _record_query(record: pb.RecordFields) -> RecordQuery:
    query = RecordQuery(
        id_number=check.optional(record.id_number, "record.id_number"),
        name=check.optional(record.name, "record.name"),
        sex=check.sex(record.sex, "record.sex"),
        birth_date=check.iso_date(record.birth_date, "record.birth_date"),
        phone=check.optional(record.phone, "record.phone"),
        card_no=check.optional(record.card_no, "record.card_no"),
        county_code=check.optional(record.county_code, "record.county_code"),
    )
    if query.is_empty():
        check.required("", "record")
    return query


def _candidate(c: Candidate) -> pb.Candidate:
    return pb.Candidate(
        person_id=c.person_id, match_probability=c.match_probability,
        method=pv.enum_value(pb.LinkMethod, c.method),
        fields=[pb.FieldAgreement(field=f.field, level=f.level, match_weight=f.match_weight, agrees=f.agrees)
                for f in c.fields],
    )


def _identifier(i: Identifier) -> pb.Identifier:
    return pb.Identifier(kind=pv.enum_value(pb.IdentifierKind, i.kind), value=i.value, shared=i.shared,
                         holders=i.holders, origin=i.origin)


def _linked_record(e: EvidenceEdge) -> pb.LinkedRecord:
    return pb.LinkedRecord(
        source=e.source, kind=pv.enum_value(pb.SourceKind, e.kind), record_id=e.record_id,
        occurred_at=pv.timestamp(e.occurred_at), match_probability=e.link_probability,
        method=pv.enum_value(pb.LinkMethod, e.method), round_id=e.round_id,
    )
