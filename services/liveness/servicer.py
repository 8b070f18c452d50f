"""LivenessService: protobuf in, store and domain calls, protobuf out — a few lines per rpc."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from datetime import UTC, date, datetime

import grpc

from silentcert.graph.errors import InvalidInput, NotFound
from silentcert.graph.model import ChannelCertification, EvidenceEdge, Person
from silentcert.graph.store import GraphStore
from silentcert.liveness.v1 import liveness_pb2 as pb
from silentcert.liveness.v1 import liveness_pb2_grpc
from silentcert.services import proto_values as pv
from silentcert.services import request_checks as check
from silentcert.services.liveness.answers import AnswerCache
from silentcert.services.liveness.live_certification import record_channel_check
from silentcert.services.security.auth import authenticated_caller
from silentcert.services.security.roles import ADMIN

MAX_EVIDENCE = 200
ANSWERS_KEPT = 100_000  # GetLiveness answers reused while their pensioner is unchanged (about 1 KB each)
WARM_PAGE = 10_000  # pensioners read at a time when warming the answers

log = logging.getLogger(__name__)

Lookup = pb.GetLivenessRequest | pb.StreamLivenessRequest | pb.RecordCertificationRequest


class LivenessServicer(liveness_pb2_grpc.LivenessServiceServicer):
    def __init__(self, store: GraphStore, period_months: int = 12, window_months: int = 12,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), answers_kept: int = ANSWERS_KEPT,
                 warm: bool = False):
        """`warm`: warm_answers() in the background (start_warming), and again whenever a round publish emptied the
        cache, if the store lists its pensioners (GraphStore.lists_liveness_pages)."""
        self.store = store
        self.warms = warm and store.lists_liveness_pages and answers_kept > 0
        self.answers = AnswerCache(answers_kept, store.changed_people, self.start_warming if self.warms else None)
        self._warming = threading.Lock()
        self._stopped = threading.Event()
        self.warmer: threading.Thread | None = None  # the latest warming thread started
        self.period_months = period_months
        self.window_months = window_months  # how far before its round's as-of date a check may lie
        self.clock = clock

    def GetLiveness(self, request: pb.GetLivenessRequest, context: grpc.ServicerContext) -> pb.GetLivenessResponse:
        person_id, id_number, described = _lookup(request)
        since = check.iso_date(request.evidence_since, "evidence_since")
        key = _answer_key(person_id, id_number, since)
        if self.answers.holds(key):  # then the store's generation says whether it still stands
            kept = self.answers.get(key, self.store.generation())
            if kept is not None:
                return pb.GetLivenessResponse.FromString(kept)
        generation, found = self.store.liveness_read(person_id=person_id, id_number=id_number, since=since,
                                                     limit=MAX_EVIDENCE)
        if found is None:
            raise NotFound(f"no pensioner with {described}")
        response = pb.GetLivenessResponse(liveness=liveness(*found))
        self.answers.put(key, found[0].person_id, generation, response.SerializeToString())
        return response

    def start_warming(self) -> None:
        """warm_answers() in a thread of its own (which returns at once if one is running), if this servicer warms."""
        if self.warms:
            self.warmer = threading.Thread(target=self.warm_answers, name="warm-answers", daemon=True)
            self.warmer.start()

    def stop_warming(self, timeout: float = 60.0) -> None:
        """Stop warming for good (the server is stopping, and its store will be closed): returns once the running
        warming has ended, after the page it is reading; none starts after."""
        self._stopped.set()
        if self._warming.acquire(timeout=timeout):
            self._warming.release()

    def warm_answers(self) -> int:
        """Read every pensioner's answer (lookups without evidence_since, by person_id and by ID number) into the
        cache, page by page, until it is full or the store has no more; returns how many pensioners' answers it
        keeps. A round published meanwhile starts it over. Does nothing if a warming is running, or if this
        servicer does not warm (`warm`)."""
        if not self.warms or not self._warming.acquire(blocking=False):
            return 0
        if self._stopped.is_set():  # checked under the lock: stop_warming may have taken it just before
            self._warming.release()
            return 0
        try:
            started = time.perf_counter()
            log.info("warming answers: up to %d", self.answers.capacity)
            people = self._warm_pages()
            while people is None and not self._stopped.is_set():
                log.info("answer warming starts over: a round was published")
                people = self._warm_pages()
        except Exception:  # calls are still answered, from the store; the on-call engineer reads why
            log.exception("answer warming failed; answers are read from the store as they are asked")
            return 0
        else:
            if people is None:
                return 0
            log.info("answers warmed: %d pensioners in %.1f s (%d answers kept)", people,
                     time.perf_counter() - started, len(self.answers))
            return people
        finally:
            self._warming.release()

    def _warm_pages(self) -> int | None:
        """One pass of warm_answers: the pensioners kept, or None when a page could not be (a publish)."""
        people = 0
        for generation, page in self.store.liveness_pages(MAX_EVIDENCE, WARM_PAGE):
            if self._stopped.is_set():
                break
            entries: list[tuple[Hashable, str, bytes]] = []
            for entry in page:
                answer = pb.GetLivenessResponse(liveness=liveness(entry.person, entry.evidence))
                serialized, person_id = answer.SerializeToString(), entry.person.person_id
                entries.append((_answer_key(person_id=person_id), person_id, serialized))
                if entry.id_number is not None:
                    entries.append((_answer_key(id_number=entry.id_number), person_id, serialized))
            room = max(0, self.answers.capacity - len(self.answers))
            if not self.answers.put_many(entries[:room], generation):
                return None
            people += len({person_id for _, person_id, _ in entries[:room]})
            if len(entries) >= room:
                break
        return people

    def StreamLiveness(self, request_iterator: Iterator[pb.StreamLivenessRequest],
                       context: grpc.ServicerContext) -> Iterator[pb.StreamLivenessResponse]:
        for request in request_iterator:
            yield self._answer(request)

    def RecordCertification(self, request: pb.RecordCertificationRequest,
                            context: grpc.ServicerContext) -> pb.RecordCertificationResponse:
        person = self._person(request)
        cert = ChannelCertification(
            person_id=person.person_id,
            channel=pv.enum_domain(pb.CertificationChannel, request.channel, "channel", allow_unspecified=False),
            occurred_at=pv.from_timestamp(request.occurred_at, "occurred_at"),
            passed=request.passed,
            record_id=check.required(request.record_id, "record_id"),
            operator=_acting_operator(request.operator),
        )
        after, extended = record_channel_check(self.store, cert, self.period_months, now=self.clock(),
                                               window_months=self.window_months)
        return pb.RecordCertificationResponse(liveness=liveness(after, []), period_extended=extended)

    def _answer(self, request: pb.StreamLivenessRequest) -> pb.StreamLivenessResponse:
        """One lookup of a stream; a bad lookup is answered, not raised (StoreUnavailable still ends the stream)."""
        try:
            person = self._person(request)
        except NotFound as error:
            return _failure(request.tag, pb.LOOKUP_FAILURE_REASON_NOT_FOUND, error)
        except InvalidInput as error:
            return _failure(request.tag, pb.LOOKUP_FAILURE_REASON_INVALID_ARGUMENT, error)
        return pb.StreamLivenessResponse(tag=request.tag, liveness=liveness(person, []))

    def _person(self, request: Lookup) -> Person:
        """The pensioner named by the request's `person` oneof; InvalidInput when unset, NotFound when unknown."""
        person_id, id_number, described = _lookup(request)
        person = self.store.person(person_id=person_id, id_number=id_number)
        if person is None:
            raise NotFound(f"no pensioner with {described}")
        return person


def _answer_key(person_id: str | None = None, id_number: str | None = None, since: date | None = None) -> Hashable:
    """The answer cache's key of a GetLiveness lookup: by person_id or by (normalised) ID number, with its
    evidence_since; warming puts answers under the keys a call without evidence_since asks for."""
    return person_id, id_number, since


def _lookup(request: Lookup) -> tuple[str | None, str | None, str]:
    """(person_id, normalised ID number, how to name it in a message) from the request's `person` oneof;
    InvalidInput when it is unset or malformed."""
    which = request.WhichOneof("person")
    if which == "person_id":
        person_id = check.required(request.person_id, "person_id")
        return person_id, None, f"person_id {person_id}"
    if which == "id_number":
        id_number = check.id_number(request.id_number, "id_number")
        if id_number is None:
            raise InvalidInput("id_number is empty", field="id_number")
        return None, id_number, f"ID number {id_number}"
    raise InvalidInput("set person_id or id_number", field="person")


def _acting_operator(operator: str) -> str:
    """The operator recorded: the authenticated caller. A certifier may leave the field empty or repeat its own
    name; an admin may record a check another operator made (e.g. one reported on paper)."""
    caller = authenticated_caller()
    if caller is None:  # no access interceptor (in-process use): the field is all there is
        return check.required(operator, "operator")
    if caller.role == ADMIN and operator.strip():
        return check.required(operator, "operator")
    if operator.strip() and operator.strip() != caller.name:
        raise InvalidInput(f"operator must be the authenticated caller {caller.name!r}, got {operator!r}",
                           field="operator")
    return caller.name


def _failure(tag: str, reason: pb.LookupFailureReason.ValueType, error: Exception) -> pb.StreamLivenessResponse:
    return pb.StreamLivenessResponse(tag=tag, failure=pb.LookupFailure(reason=reason, message=str(error)))


def liveness(person: Person, evidence: list[EvidenceEdge]) -> pb.Liveness:
    """The protobuf Liveness of a pensioner and the evidence listed with it."""
    return pb.Liveness(
        person_id=person.person_id,
        status=pv.enum_value(pb.LivenessStatus, person.status),
        probability_alive=person.probability or 0.0,
        certified_until=pv.iso(person.certified_until),
        period_state=pv.enum_value(pb.PeriodState, person.period_state),
        method=pv.enum_value(pb.CertificationMethod, person.method),
        source=person.source or "",
        evidence_at=pv.iso(person.evidence_at),
        round_id=person.round_id or "",
        evidence=[_edge(e) for e in evidence],
        explanation=person.explanation or "",
    )


def _edge(e: EvidenceEdge) -> pb.EvidenceEdge:
    edge = pb.EvidenceEdge(
        source=e.source, kind=pv.enum_value(pb.EvidenceKind, e.kind), record_id=e.record_id,
        occurred_at=pv.timestamp(e.occurred_at), link_probability=e.link_probability, round_id=e.round_id,
    )
    if e.contribution is not None:
        edge.contribution = e.contribution
    if e.passed is not None:
        edge.passed = e.passed
    return edge
