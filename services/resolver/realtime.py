"""Resolve one record in real time against the registry with the round's Splink model.

The registry, the model and its term-frequency tables are loaded once; each request
registers the one record and runs ``predict_between`` over the model's blocking rules, so a
request costs one small blocked join. Each candidate carries Splink's per-comparison match
weights (``mw_*``): which fields agreed and how much each counted.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from splink import Linker

from services.errors import InvalidInput
from services.resolver.engines import DuckDBEngine, LinkageEngine
from services.resolver.probabilistic import registry_linkage_sql
from services.resolver.settings import LinkageSettings

_FIELDS = ("id_number", "name", "name_pinyin", "sex", "birth_date", "phone", "county_code", "card_no")
_SCHEMA = pa.schema([("unique_id", pa.int64())] + [
    (f, pa.date32() if f == "birth_date" else pa.string()) for f in _FIELDS
])


@dataclass(frozen=True)
class Candidate:
    """One registry person a record may belong to."""

    person_id: str
    match_probability: float
    match_weight: float
    band: str
    weights: dict[str, float]   # comparison name → Splink match weight (log2 Bayes factor)


class RealtimeResolver:
    """Holds the registry and a trained model; ``resolve`` answers one record at a time."""

    def __init__(self, con: duckdb.DuckDBPyConnection, model_document: dict, settings: LinkageSettings,
                 engine: LinkageEngine | None = None):
        self._settings = settings
        self._engine = engine or DuckDBEngine(memory_limit="1GB")
        registry = con.sql(registry_linkage_sql()).to_arrow_table()
        self._person_ids = dict(zip(registry.column("unique_id").to_pylist(), registry.column("person_id").to_pylist()))
        self._registry = self._engine.register(registry.drop_columns(["person_id"]), "registry")
        empty = self._engine.register(_SCHEMA.empty_table(), "records")
        self._linker = Linker([self._registry, empty], _with_weights(model_document["splink"]))
        for column in _tf_columns(model_document["splink"]):
            self._linker.table_management.compute_tf_table(column)
        self._ids = itertools.count(1)

    def resolve(self, record: dict, limit: int = 5) -> list[Candidate]:
        """Candidates for ``record`` (canonical, normalised fields), most probable first."""
        unknown = set(record) - set(_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown record fields {sorted(unknown)}", field=sorted(unknown)[0])
        row = {f: [record.get(f)] for f in _FIELDS} | {"unique_id": [next(self._ids)]}
        new = self._engine.register(pa.Table.from_pydict(row, schema=_SCHEMA), f"request_{row['unique_id'][0]}")
        try:
            predictions = self._linker.inference.predict_between(
                self._registry, new, threshold_match_probability=self._settings.candidate_floor,
                warning_mode="never",
            )
            scored = predictions.as_record_list()
            predictions.drop_table_from_database_and_remove_from_cache()
        finally:
            new.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        return sorted((self._candidate(r) for r in scored), key=lambda c: -c.match_probability)[:limit]

    def _candidate(self, row: dict) -> Candidate:
        registry_side = "l" if row["source_dataset_l"] == "registry" else "r"
        pidx = row[f"unique_id_{registry_side}"]
        return Candidate(
            person_id=self._person_ids[pidx],
            match_probability=row["match_probability"],
            match_weight=row["match_weight"],
            band=self._settings.band(row["match_probability"]),
            weights={k[3:]: v for k, v in row.items() if k.startswith("mw_") and not k.startswith("mw_tf_")},
        )

    def close(self) -> None:
        self._engine.close()


def _with_weights(splink_settings: dict) -> dict:
    out = copy.deepcopy(splink_settings)
    out["retain_intermediate_calculation_columns"] = True
    return out


def _tf_columns(splink_settings: dict) -> list[str]:
    columns = {
        level["tf_adjustment_column"]
        for comparison in splink_settings["comparisons"]
        for level in comparison["comparison_levels"]
        if level.get("tf_adjustment_column")
    }
    return sorted(columns)
