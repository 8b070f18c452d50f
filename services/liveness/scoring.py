"""The survival model for one person: evidence edges in, a self-explaining verdict out.

Plain Python, no driver and no gRPC: the LivenessService calls :func:`explain_person` with what the graph store
returns, and :mod:`services.liveness.score_stage` runs the very same rules as set-wise SQL over a province
(the unit tests check that both agree). The math is in docs/scoring.md.

Rules, in the order they are applied to each record dated inside the evidence window (as_of included):
  1. on or after the earliest death date of a linked death record (link >= link_floor): ``after_death``;
  2. a face / in-person check that did not pass: ``failed``;
  3. strong / face / in-person linked >= confident_link and not through a shared identifier: ``certifies``
     (otherwise ``not_confident``);
  4. weak linked >= link_floor: ``weak``, weighted by link probability x shared discount (otherwise ``weak_link``).
The latest certifying date wins (ties: in_person, face, strong, weak). Weak evidence is time-aware: a weak
certification dated D rests only on the weak records dated on or after D; it is dated on the latest record day D
whose window has ``min_weak_sources`` sources seen and log-odds reaching the round's threshold (calibrated on what
the labelled dead's post-death records alone reach, calibration.py).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from silentcert.graph.model import EvidenceEdge, Person
from silentcert.services.liveness.periods import period_state, resolve_period, window_start
from silentcert.services.liveness.ratios import LikelihoodRatio, ratio_for
from silentcert.services.liveness.settings import LivenessSettings

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
    """The weak model for one person, read at one window start ``window_from`` (all weak records dated on or after
    it): the latest day whose window certifies, else the best-scoring window with enough sources (``reach``),
    else the whole window."""

    log_odds: float
    probability: float
    sources_seen: int
    certifies: bool
    window_from: date | None
    reach: float | None  # best log-odds of any window with min_weak_sources sources seen; None if none has
    seen_sources: tuple[str, ...]  # sources seen in the window read (sorted)
    all_sources: tuple[str, ...]  # sources seen over the whole evidence window (sorted)
    dated_by: tuple[str, str] | None  # (source, record_id) of the record the window starts with
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


def death_cutoff(edges: Iterable[EvidenceEdge], settings: LivenessSettings) -> date | None:
    """The earliest death date among death records linked at link_floor or better."""
    days = [e.occurred_at.date() for e in edges if e.kind == "death" and e.link_probability >= settings.link_floor]
    return min(days) if days else None


def classify(edge: EvidenceEdge, cutoff: date | None, settings: LivenessSettings) -> tuple[str, float | None]:
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
    return "weak", edge.link_probability * discount


def source_delta(capped: float, ratio: LikelihoodRatio) -> float:
    """What a source seen with weight ``capped`` adds to the base log-odds (docs/scoring.md section 2); never
    negative: a source the labelled dead show after death at least as often as the living show it carries nothing,
    so more records never lower a window's score."""
    return max(0.0, capped * ratio.seen_log_ratio - min(capped, 1.0) * ratio.unseen_log_ratio)


def base_log_odds(ratios: Iterable[LikelihoodRatio], settings: LivenessSettings) -> float:
    """Prior plus every source's unseen term: the log-odds of a person no weak source sees."""
    return settings.prior_log_odds + sum(r.unseen_log_ratio for r in ratios)


@dataclass(frozen=True)
class Window:
    """The weak records dated on or after ``start`` scored together."""

    start: date
    log_odds: float
    seen: int
    totals: dict[str, float]  # per source: summed record weight in the window


def windows(weak: list[tuple[EvidenceEdge, float]], table: Mapping[str, LikelihoodRatio],
            settings: LivenessSettings, base: float) -> list[Window]:
    """One window per distinct record day, latest first: the records dated on or after that day scored together.

    A weak certification dated D may rest only on evidence a person dead before D could not have produced, so
    each candidate day is scored on its own window (the SQL twin builds the same sums as running totals)."""
    days = sorted({e.occurred_at.date() for e, _ in weak}, reverse=True)
    out = []
    for start in days:
        totals: dict[str, float] = defaultdict(float)
        for edge, weight in weak:
            if edge.occurred_at.date() >= start:
                totals[edge.source] += weight
        capped = {s: min(settings.source_cap, round(t, 9)) for s, t in totals.items()}
        log_odds = round(base + sum(source_delta(c, table[s]) for s, c in capped.items()), 9)
        seen = sum(c >= settings.min_source_weight for c in capped.values())
        out.append(Window(start, log_odds, seen, dict(totals)))
    return out


def pick_window(found: list[Window], settings: LivenessSettings, threshold: float) -> Window | None:
    """The window a verdict reads: the latest that certifies, else the best with enough sources (latest on a tie),
    else the whole window (the earliest day)."""
    if not found:
        return None
    enough = [w for w in found if w.seen >= settings.min_weak_sources]
    passing = [w for w in enough if w.log_odds >= threshold]
    if passing:
        return max(passing, key=lambda w: w.start)
    if enough:
        return max(enough, key=lambda w: (w.log_odds, w.start))
    return min(found, key=lambda w: w.start)


def weak_score(weak: list[tuple[EvidenceEdge, float]], ratios: Mapping[str, LikelihoodRatio],
               settings: LivenessSettings, threshold_log_odds: float) -> WeakScore:
    """Time-aware weak evidence: score the records dated on or after each candidate day, certify on the latest day
    whose window reaches ``threshold_log_odds`` with ``min_weak_sources`` sources seen."""
    table = dict(ratios)
    for edge, _ in weak:
        table.setdefault(edge.source, ratio_for(edge.source, (0, 0, 0, 0), settings))
    base = base_log_odds(table.values(), settings)
    found = windows(weak, table, settings, base)
    window = pick_window(found, settings, threshold_log_odds)
    if window is None:
        return WeakScore(base, sigmoid(base), 0, False, None, None, (), (), None, {})
    enough = [w.log_odds for w in found if w.seen >= settings.min_weak_sources]
    certifies = window.seen >= settings.min_weak_sources and window.log_odds >= threshold_log_odds
    capped = {s: min(settings.source_cap, round(t, 9)) for s, t in window.totals.items()}
    contributions = {}
    for edge, w in weak:
        if edge.occurred_at.date() >= window.start:
            total = round(window.totals[edge.source], 9)
            delta = source_delta(capped[edge.source], table[edge.source])
            contributions[_key(edge)] = delta * w / total if total > 0 else 0.0
        else:
            contributions[_key(edge)] = 0.0
    first = min(((e.occurred_at.date(), -w, e.source, e.record_id) for e, w in weak
                 if e.occurred_at.date() == window.start))
    whole = found[-1]
    return WeakScore(
        log_odds=window.log_odds, probability=sigmoid(window.log_odds), sources_seen=window.seen,
        certifies=certifies, window_from=window.start, reach=max(enough) if enough else None,
        seen_sources=_seen(capped, settings),
        all_sources=_seen({s: min(settings.source_cap, round(t, 9)) for s, t in whole.totals.items()}, settings),
        dated_by=(first[2], first[3]), contributions=contributions)


def _seen(capped: Mapping[str, float], settings: LivenessSettings) -> tuple[str, ...]:
    return tuple(sorted(s for s, c in capped.items() if c >= settings.min_source_weight))


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
    scored = [(e, *classify(e, cutoff, settings)) for e in edges
              if e.kind in PRIORITY and start <= e.occurred_at.date() <= as_of]
    weak = weak_score([(e, w) for e, role, w in scored if role == "weak" and w is not None], ratios, settings,
                      threshold)
    decision = _decide(scored, weak)
    period = resolve_period(person.certified_until, decision.day if decision else None, as_of, settings)
    method = (decision.kind if period.extended and decision else "carried") if period.certified else "none"
    decided = decision is not None and method in PRIORITY
    probability = max([weak.probability] + [e.link_probability for e, role, _ in scored if role == "certifies"])
    state = period_state(period.certified_until, as_of, settings)
    relatives = frozenset(s for s, r in ratios.items() if r.seen_dead > 0)
    return Verdict(
        person_id=person.person_id,
        status="certified" if period.certified else "uncertified",
        method=method,
        source=decision.source if decided and decision else None,
        evidence_at=decision.day if decided and decision else None,
        probability=probability,
        certified_until=period.certified_until,
        period_state=state,
        explanation=explanation(method, decision if decided else None, probability, weak, period.certified_until,
                                settings.min_weak_sources, threshold, relatives),
        evidence=_evidence(scored, weak, decision if decided else None),
    )


def _decide(scored: list[tuple[EvidenceEdge, str, float | None]], weak: WeakScore) -> _Candidate | None:
    candidates = [_Candidate(e.occurred_at.date(), e.kind, e.link_probability, e.source, e.record_id)
                  for e, role, _ in scored if role == "certifies"]
    if weak.certifies and weak.window_from is not None and weak.dated_by is not None:
        candidates.append(_Candidate(weak.window_from, "weak", 0.0, *weak.dated_by))
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


def explanation(method: str, decision: _Candidate | None, probability: float, weak: WeakScore,
                certified_until: date | None, min_sources: int, threshold_log_odds: float,
                relatives: frozenset[str]) -> str:
    """One line a clerk can read; score_stage builds the identical string in SQL.

    A weak certification names the window it rests on and the record that dates it; an uncertified person says
    why weak evidence did not certify. ``relatives`` are the sources this round's labelled dead were seen in after
    their death."""
    until = certified_until.isoformat() if certified_until else "never certified"
    if method in CERTIFYING_KINDS:
        assert decision is not None  # a certifying method is decided by a record
        return (f"{method}: {decision.source} on {decision.day.isoformat()} linked "
                f"{decision.link_probability:.3f}; certified until {until}")
    if method == "weak":
        assert decision is not None
        return (f"weak: {weak.sources_seen} sources seen from {decision.day.isoformat()} on "
                f"({', '.join(weak.seen_sources)}), log-odds {weak.log_odds:.3f} >= {threshold_log_odds:.3f}, "
                f"dated by {decision.source} record {decision.record_id}; certified until {until}")
    if method == "carried":
        return f"carried: earlier period valid until {until}; P(alive)={probability:.4f}"
    seen = weak.all_sources
    if not seen:
        why = f"no weak source seen, needs {min_sources}"
    elif len(seen) < min_sources:
        why = f"{len(seen)} weak source(s) seen ({', '.join(seen)}), needs {min_sources}"
    elif set(seen) <= relatives:
        why = (f"only sources that relatives of deceased pensioners were seen using this round "
               f"({', '.join(seen)}): best log-odds {weak.reach:.3f} < {threshold_log_odds:.3f}")
    else:
        why = (f"{len(seen)} weak sources seen ({', '.join(seen)}), best log-odds {weak.reach:.3f} "
               f"< {threshold_log_odds:.3f}")
    return f"none: {why}; P(alive)={probability:.4f}; period {until}"


def _key(edge: EvidenceEdge) -> str:
    return f"{edge.source}\x1f{edge.record_id}"
