"""Resolve one record in real time against the registry with the round's trained linkage model.

Loaded once: the registry (the round database's ``registry`` table, in the form the model saw it),
indexed in memory by the model's blocking keys (:mod:`registry_index`), the registry's term
frequencies, and the model's comparison levels as Python (:mod:`match_weights`). A request is
normalised with the same Python normalisers the batch's SQL mirrors, its candidates are looked up in
the indexes, and each is scored with the model's m/u parameters — the match weights Splink's
``predict`` gives for that pair, without a database round trip (well under a millisecond a request).

Term frequencies are the registry's: the population a request is matched against. (A batch round
counts them over registry and pending records together, so its tf adjustments differ slightly.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from silentcert.graph import sql
from silentcert.graph.errors import InvalidInput
from silentcert.services.resolver import id_numbers
from silentcert.services.resolver.dates import normalise_date
from silentcert.services.resolver.match_weights import FieldScore, MatchModel, TermFrequencies
from silentcert.services.resolver.model import LINK_COLUMNS, NAME_KEYS, load_model
from silentcert.services.resolver.names import Name, name_keys, normalise_name
from silentcert.services.resolver.one_record import Candidate as ServiceCandidate
from silentcert.services.resolver.one_record import FieldWeight, RecordQuery, ResolveOne
from silentcert.services.resolver.phones import normalise_phone
from silentcert.services.resolver.probabilistic import registry_linkage_sql
from silentcert.services.resolver.registry_index import RegistryIndex
from silentcert.services.resolver.settings import LinkageSettings
from silentcert.services.resolver.sex import normalise_sex

_FIELDS = (*LINK_COLUMNS, *NAME_KEYS)
_NOT_ID_CHARACTER = re.compile("[^0-9X]")
_CARD_SEPARATORS = re.compile(r"[\s\-]")
_COUNTY = re.compile("^[0-9]{6}$")


@dataclass(frozen=True)
class Candidate:
    """One registry person a record may belong to, with Splink's per-comparison weights."""

    person_id: str
    match_probability: float
    match_weight: float
    band: str
    weights: dict[str, float]          # comparison → mw_ (log2 m/u of the level the pair fell in)
    tf_adjustments: dict[str, float]   # comparison → mw_tf_adj_ (0 where the level has none)
    fields: tuple[FieldScore, ...]


class RealtimeResolver:
    """Holds the registry index and a trained model; ``resolve`` answers one record at a time."""

    def __init__(self, con: duckdb.DuckDBPyConnection, model_document: dict, settings: LinkageSettings):
        self._settings = settings
        self._model = MatchModel(model_document["splink"])
        with con.cursor() as cur:
            table = sql.arrow(cur, "realtime_registry", registry_linkage_sql())
        columns = {name: table.column(name).to_pylist() for name in ("person_id", *LINK_COLUMNS)}
        keys = [name_keys(p, n) for p, n in zip(columns["name_pinyin"], columns["name"])]
        columns.update({key: [k[i] for k in keys] for i, key in enumerate(NAME_KEYS)})
        self._index = RegistryIndex(columns, settings.blocking)
        self._tf = TermFrequencies.of_columns({c: columns[c] for c in self._model.tf_columns})

    @property
    def registry_size(self) -> int:
        return self._index.size

    def resolve(self, record: dict, limit: int = 5) -> list[Candidate]:
        """Candidates for ``record`` (canonical, normalised linkage fields), most probable first.

        Only candidates at or above ``candidate_floor`` are returned, as in the batch.
        """
        unknown = set(record) - set(_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown record fields {sorted(unknown)}", field=sorted(unknown)[0])
        record = {**record, **dict(zip(NAME_KEYS, name_keys(record.get("name_pinyin"), record.get("name"))))}
        scored = [self._candidate(i, record) for i in self._index.candidates(record)]
        kept = [c for c in scored if c.match_probability >= self._settings.candidate_floor]
        return sorted(kept, key=lambda c: (-c.match_probability, c.person_id))[:limit]

    def _candidate(self, i: int, record: dict) -> Candidate:
        row = self._index.row(i)
        score = self._model.score(row, record, self._tf)
        return Candidate(
            person_id=row["person_id"],
            match_probability=score.match_probability,
            match_weight=score.match_weight,
            band=self._settings.band(score.match_probability),
            weights={f.comparison: f.match_weight for f in score.fields},
            tf_adjustments={f.comparison: f.tf_adjustment for f in score.fields},
            fields=score.fields,
        )

    def close(self) -> None:
        """Nothing to release: everything lives in Python memory (kept for callers that close)."""


def linkage_record(query: RecordQuery) -> dict:
    """A request's fields normalised as ingest normalises a source row (``docs/architecture.md``).

    An ID number failing validation still takes part by its cleaned characters (16–19 of them), as in
    the batch: a typo is what the model's edit-distance levels recognise (``id_valid`` False; a valid
    ID that differs from a valid registry ID is another person). Other unusable fields are
    ``InvalidInput`` naming the field and the clerk-facing reason.
    """
    record = dict.fromkeys(_FIELDS)
    record["id_valid"] = False
    valid_id = _id_number(query.id_number, record)
    _name(query.name, record)
    record["sex"] = _accepted(normalise_sex(query.sex), "sex") or (valid_id.sex if valid_id else None)
    birth = query.birth_date if not isinstance(query.birth_date, str) else normalise_date(query.birth_date)
    record["birth_date"] = _accepted(birth, "birth_date") or (valid_id.birth_date if valid_id else None)
    record["county_code"] = _county(query.county_code)
    record["phone"] = _accepted(normalise_phone(query.phone, record["county_code"]), "phone")
    record["card_no"] = _card(query.card_no)
    return record


def _id_number(raw: str | None, record: dict) -> id_numbers.IdNumber | None:
    if raw is None:
        return None
    result = id_numbers.normalise_id_number(raw)
    if isinstance(result, id_numbers.IdNumber):
        record["id_number"], record["id_valid"] = result.value, True
        return result
    cleaned = _NOT_ID_CHARACTER.sub("", id_numbers.clean(raw))
    record["id_number"] = cleaned if 16 <= len(cleaned) <= 19 else None
    return None


def _name(raw: str | None, record: dict) -> None:
    name = _accepted(normalise_name(raw), "name")
    if isinstance(name, Name):
        record["name"], record["name_pinyin"] = name.value, name.pinyin


def _card(raw: str | None) -> str | None:
    # As ingest: trimmed, inner spaces and dashes removed, upper case, empty as NULL.
    return _CARD_SEPARATORS.sub("", (raw or "").strip()).upper() or None


def _county(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if text and not _COUNTY.match(text):
        raise InvalidInput(f"county_code {text} is not a 6-digit division code", field="record.county_code")
    return text or None


def _accepted(value, field: str):
    """The normalised value; a normaliser's rejection becomes InvalidInput naming the field."""
    reason = getattr(value, "reason", None)
    if reason is not None:
        raise InvalidInput(reason, field=f"record.{field}")
    return value


def model_resolver(resolver: RealtimeResolver, limit: int = 100) -> ResolveOne:
    """The ResolverService's ``resolve_one`` over a loaded :class:`RealtimeResolver`."""

    def resolve(query: RecordQuery) -> list[ServiceCandidate]:
        found = resolver.resolve(linkage_record(query), limit=limit)
        return [ServiceCandidate(c.person_id, c.match_probability, "splink", _field_weights(c)) for c in found]

    return resolve


def _field_weights(candidate: Candidate) -> tuple[FieldWeight, ...]:
    """Each comparison's whole contribution (level weight plus its tf adjustment)."""
    return tuple(
        FieldWeight(f.comparison, f.label, f.match_weight + f.tf_adjustment, not f.is_null and f.match_weight > 0)
        for f in candidate.fields
    )


def open_resolver(model_path: Path, registry_db: Path, settings: LinkageSettings) -> RealtimeResolver:
    """Load the model JSON and the registry of a finished round's database (read-only)."""
    document = load_model(model_path)
    if not Path(registry_db).exists():
        raise InvalidInput(f"registry database {registry_db} does not exist", field="registry_db")
    con = duckdb.connect(str(registry_db), read_only=True)
    try:
        return RealtimeResolver(con, document, settings)
    finally:
        con.close()
