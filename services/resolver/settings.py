"""Typed settings of the linkage stage, built once by the caller and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from silentcert.graph.errors import InvalidInput

#: The blocking rules of a round unless ``[linkage] blocking`` names others; the named rules and what each is for
#: are in ``services/resolver/blocking.py``.
DEFAULT_BLOCKING = (
    "id_number",
    "id_head",
    "id_seq",
    "id_day",
    "id_tail",
    "id_ends",
    "id_neighbours",
    "name_pinyin+birth_date",
    "birth_county_first",
    "birth_county_last",
    "name_county_undated",
    "birth_county_unnamed",
    "phone",
    "card_no",
)


#: Where Splink can run (``engines.engine_for`` builds them).
ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class LinkageSettings:
    """How records are linked to registry persons in one round.

    ``auto_threshold`` and ``review_floor`` cut a link's probability into the bands
    ``auto`` / ``review`` / ``none``. ``model_path`` loads a trained Splink model instead of
    training on the round; ``save_model_path`` is where the round's model JSON is written.
    ``engine`` is where Splink runs: ``duckdb`` (in process, the default) or ``spark``
    (``pip install silentcert[spark]``, Java 17; see docs/scaling.md) at ``spark_master``.
    ``predict_chunk_records`` bounds the pending records Splink scores at once: more are split into chunks,
    each blocked against the whole registry, so the blocked pairs held (and spilled) at a time shrink with them.
    """

    auto_threshold: float = 0.95
    review_floor: float = 0.5
    candidate_floor: float = 0.05
    identifier_probability: float = 0.96
    shared_identifier_cap: float = 0.9
    u_max_pairs: float = 1e6
    em_max_pairs: float = 5e5
    min_training_records: int = 2000
    predict_chunk_records: int = 7_000_000  # 8.5M resolves 23 % faster than at 2M, 4M 12 % slower (docs/scaling.md)
    blocking: tuple[str, ...] = DEFAULT_BLOCKING
    model_path: Path | None = None
    save_model_path: Path | None = None
    seed: int = 1
    engine: str = "duckdb"
    spark_master: str = "local[*]"

    def __post_init__(self) -> None:
        if not 0.0 < self.review_floor <= self.auto_threshold <= 1.0:
            raise InvalidInput(
                "linkage thresholds must satisfy 0 < review_floor <= auto_threshold <= 1, "
                f"got review_floor={self.review_floor}, auto_threshold={self.auto_threshold}",
                field="auto_threshold",
            )
        if not 0.0 <= self.candidate_floor <= self.review_floor:
            raise InvalidInput(
                f"candidate_floor {self.candidate_floor} must lie in [0, review_floor]",
                field="candidate_floor",
            )
        if self.predict_chunk_records < 1:
            raise InvalidInput(f"predict_chunk_records must be at least 1, got {self.predict_chunk_records}",
                               field="predict_chunk_records")
        if self.engine not in ENGINES:
            raise InvalidInput(f"linkage engine {self.engine!r} unknown: choose {' or '.join(ENGINES)}", field="engine")
        if self.shared_identifier_cap >= self.auto_threshold:
            raise InvalidInput(
                "shared_identifier_cap must stay below auto_threshold: a shared phone or card "
                "never makes a confident link",
                field="shared_identifier_cap",
            )

    def band(self, probability: float | None) -> str:
        """The band of one probability (the SQL in ``linking`` applies the same cut)."""
        if probability is None or probability < self.review_floor:
            return "none"
        return "auto" if probability >= self.auto_threshold else "review"
