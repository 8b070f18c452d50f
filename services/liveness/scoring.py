"""The survival model for one person: evidence edges in, a self-explaining verdict out.

Plain Python, no driver and no gRPC: the LivenessService calls :func:`explain_person` with what the graph store
returns, and :mod:`services.liveness.round_scoring` runs the very same rules as set-wise SQL over a province
(the unit tests check that both agree). The math is in docs/scoring.md.

Rules, in the order they are applied to each record dated inside the evidence window (as_of included):
  1. on or after the earliest death date of a linked death record (link >= link_floor): ``after_death``;
  2. a face / in-person check that did not pass: ``failed``;
  3. strong / face / in-person linked >= confident_link and not through a shared identifier: ``certifies``
     (otherwise ``not_confident``);
  4. weak linked >= link_floor: ``weak``, weighted by link probability x recency x shared discount
     (otherwise ``weak_link``).
The latest certifying date wins (ties: in_person, face, strong, weak); weak evidence certifies when at least
``min_weak_sources`` sources see the person and the log-odds reach the round's threshold, on the day by which
that many distinct sources had been seen (the min_weak_sources-th latest of the sources' latest days).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from graph.model import EvidenceEdge, Person
from services.liveness.periods import period_state, resolve_period, window_start
from services.liveness.ratios import LikelihoodRatio, ratio_for
from services.liveness.settings import LivenessSettings

CERTIFYING_KINDS = ("strong", "face", "in_person")
PRIORITY = {"in_person": 4, "face": 3, "strong": 2, "weak": 1}
LOG_ODDS_CLAMP = 50.0


@dataclass(frozen=True)
class ScoredEvidence:
    """One record as the verdict used it. ``contribution`` is log-odds for weak records, None otherwise."""

    source: str
    kind: str
    record_id: str
    occurred_at: datetime
    link_probability: float
    role: str  # decides | certifies | weak | after_death | failed | not_confident | weak_link
    weight: float | None = None
    contribution: float | None = None


@dataclass(frozen=True)
class Verdict:
    """A person's liveness after one round (before the death check amends deaths and conflicts)."""

    person_id: str
    status: str  # certified | uncertified
    method: str  # strong | weak | face | in_person | carried | none
    source: str | None
    evidence_at: date | None
    probability: float
    certified_until: date | None
    period_state: str
    explanation: str
    evidence: tuple[ScoredEvidence, ...] = ()


@dataclass(frozen=True)
class WeakScore:
    log_odds: float
    probability: float
    sources_seen: int
    certifies: bool
    latest: date | None
    top_source: str | None
    contributions: dict[str, float]  # per record_key


@dataclass(frozen=True)
class _Candidate:
    day: date
    kind: str
    link_probability: float
    source: str
    record_id: str

    def rank(self) -> tuple:
        return (self.day, PRIORITY[self.kind], self.link_probability, _Desc(self.source), _Desc(self.record_id))


class _Desc(str):
    """Sorts strings in reverse so ``max`` picks the alphabetically first (as SQL ``ORDER BY name ASC``)."""

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)

    def __gt__(self, other: str) -> bool:
        return str.__lt__(self, other)


def sigmoid(log_odds: float) -> float:
    x = max(-LOG_ODDS_CLAMP, min(LOG_ODDS_CLAMP, log_odds))
    return 1.0 / (1.0 + math.exp(-x))


def decay(age_days: int, settings: LivenessSettings) -> float:
    """Recency weight: halves every ``half_life_days``."""
    return 0.5 ** (age_days / settings.half_life_days)


def death_cutoff(edges: Iterable[EvidenceEdge], settings: LivenessSettings) -> date | None:
    """The earliest death date among death records linked at link_floor or better."""
    days = [e.occurred_at.date() for e in edges if e.kind == "death" and e.link_probability >= settings.link_floor]
    return min(days) if days else None


def classify(edge: EvidenceEdge, cutoff: date | None, as_of: date,
             settings: LivenessSettings) -> tuple[str, float | None]:
    """The role of one in-window record and, for weak records, its weight."""
    day = edge.occurred_at.date()
    shared = edge.shared
    if cutoff is not None and day >= cutoff:
        return "after_death", None
    if edge.kind in ("face", "in_person") and edge.passed is False:
        return "failed", None
    if edge.kind in CERTIFYING_KINDS:
        confident = edge.link_probability >= settings.confident_link and not shared
        return ("certifies" if confident else "not_confident"), None
    if edge.link_probability < settings.link_floor:
        return "weak_link", None
    discount = settings.shared_discount if shared else 1.0
    return "weak", edge.link_probability * decay((as_of - day).days, settings) * discount


def weak_score(weak: list[tuple[EvidenceEdge, float]], ratios: Mapping[str, LikelihoodRatio],
               settings: LivenessSettings, threshold_log_odds: float) -> WeakScore:
    """Combine weighted weak records into log-odds: prior + every source's unseen term, then per seen source
    its weight W = min(cap, sum of record weights) moves it from unseen towards seen."""
    by_source: dict[str, list[tuple[EvidenceEdge, float]]] = defaultdict(list)
    for edge, weight in weak:
        by_source[edge.source].append((edge, weight))
    table = dict(ratios)
    for source in by_source:
        table.setdefault(source, ratio_for(source, (0, 0, 0, 0), settings))
    log_odds = settings.prior_log_odds + sum(r.unseen_log_ratio for r in table.values())
    deltas: dict[str, float] = {}
    contributions: dict[str, float] = {}
    seen = 0
    seen_latest: list[date] = []
    for source, rows in by_source.items():
        total = sum(w for _, w in rows)
        capped = min(settings.source_cap, total)
        ratio = table[source]
        delta = capped * ratio.seen_log_ratio - min(capped, 1.0) * ratio.unseen_log_ratio
        deltas[source] = delta
        log_odds += delta
        if capped >= settings.min_source_weight:
            seen += 1
            seen_latest.append(max(e.occurred_at.date() for e, _ in rows))
        for edge, w in rows:
            contributions[_key(edge)] = delta * w / total if total > 0 else 0.0
    probability = sigmoid(log_odds)
    top = min(deltas, key=lambda s: (-deltas[s], s)) if deltas else None
    # the day by which min_weak_sources distinct sources had been seen: one fresh source (perhaps a relative
    # with the card) on top of older genuine activity does not date the certification after that activity
    seen_latest.sort(reverse=True)
    latest = seen_latest[settings.min_weak_sources - 1] if seen >= settings.min_weak_sources else None
    certifies = seen >= settings.min_weak_sources and log_odds >= threshold_log_odds
    return WeakScore(log_odds, probability, seen, certifies, latest, top, contributions)


def explain_person(person: Person, evidence_edges: Iterable[EvidenceEdge], ratios: Mapping[str, LikelihoodRatio],
                   settings: LivenessSettings, as_of: date, threshold_log_odds: float | None = None) -> Verdict:
    """The verdict for one person from their evidence edges (any kinds, death records included).

    ``person.certified_until`` is the period end *before* these edges are applied (the registry's or the
    previous round's, whichever is later); edges dated after ``as_of`` or before the window are ignored.
    An edge may carry ``shared=True`` when it links through an identifier several people hold.
    ``threshold_log_odds`` is the round's calibrated weak threshold (``calibration.load_threshold``); None uses
    the configured ``certify_probability``.
    """
    threshold = settings.certify_log_odds if threshold_log_odds is None else threshold_log_odds
    edges = list(evidence_edges)
    cutoff = death_cutoff(edges, settings)
    start = window_start(as_of, settings)
    scored = [(e, *classify(e, cutoff, as_of, settings)) for e in edges
              if e.kind in PRIORITY and start <= e.occurred_at.date() <= as_of]
    weak = weak_score([(e, w) for e, role, w in scored if role == "weak"], ratios, settings, threshold)
    decision = _decide(scored, weak)
    period = resolve_period(person.certified_until, decision.day if decision else None, as_of, settings)
    method = (decision.kind if period.extended else "carried") if period.certified else "none"
    decided = method in PRIORITY
    probability = max([weak.probability] + [e.link_probability for e, role, _ in scored if role == "certifies"])
    state = period_state(period.certified_until, as_of, settings)
    return Verdict(
        person_id=person.person_id,
        status="certified" if period.certified else "uncertified",
        method=method,
        source=decision.source if decided else None,
        evidence_at=decision.day if decided else None,
        probability=probability,
        certified_until=period.certified_until,
        period_state=state,
        explanation=explanation(method, decision if decided else None, probability, weak.sources_seen,
                                period.certified_until, settings.min_weak_sources, threshold),
        evidence=_evidence(scored, weak, decision if decided else None),
    )


def _decide(scored: list[tuple[EvidenceEdge, str, float | None]], weak: WeakScore) -> _Candidate | None:
    candidates = [_Candidate(e.occurred_at.date(), e.kind, e.link_probability, e.source, e.record_id)
                  for e, role, _ in scored if role == "certifies"]
    if weak.certifies:
        candidates.append(_Candidate(weak.latest, "weak", 0.0, weak.top_source, ""))
    return max(candidates, key=_Candidate.rank) if candidates else None


def _evidence(scored, weak: WeakScore, decision: _Candidate | None) -> tuple[ScoredEvidence, ...]:
    out = []
    for edge, role, weight in scored:
        if (decision is not None and role == "certifies" and edge.source == decision.source
                and edge.record_id == decision.record_id):
            role = "decides"
        out.append(ScoredEvidence(edge.source, edge.kind, edge.record_id, edge.occurred_at, edge.link_probability,
                                  role, weight, weak.contributions.get(_key(edge)) if role == "weak" else None))
    return tuple(sorted(out, key=lambda e: (e.occurred_at, e.source, e.record_id), reverse=True))


def explanation(method: str, decision: _Candidate | None, probability: float, sources_seen: int,
                certified_until: date | None, min_sources: int, threshold_log_odds: float) -> str:
    """One line a clerk can read; round_scoring builds the identical string in SQL."""
    until = certified_until.isoformat() if certified_until else "never certified"
    if method in CERTIFYING_KINDS:
        return (f"{method}: {decision.source} on {decision.day.isoformat()} linked "
                f"{decision.link_probability:.3f}; certified until {until}")
    if method == "weak":
        return (f"weak: {sources_seen} sources, P(alive)={probability:.4f}, led by {decision.source}, "
                f"latest on {decision.day.isoformat()}; certified until {until}")
    if method == "carried":
        return f"carried: earlier period valid until {until}; P(alive)={probability:.4f}"
    return (f"none: P(alive)={probability:.4f} from {sources_seen} weak source(s), needs "
            f"{min_sources} and log-odds >= {threshold_log_odds:.3f}; period {until}")


def _key(edge: EvidenceEdge) -> str:
    return f"{edge.source}\x1f{edge.record_id}"
