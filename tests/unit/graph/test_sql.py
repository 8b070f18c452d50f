"""The one SQL executor: parameters bound by name, identifiers quoted from an allow-list, each statement logged."""

from __future__ import annotations

import logging

import duckdb
import pytest

from silentcert.graph import sql

CREATE = "CREATE TABLE t AS SELECT range AS i FROM range($n)"
PICK = "SELECT i FROM {table} WHERE i >= $low ORDER BY i"


def test_binds_only_the_parameters_a_statement_names():
    con = duckdb.connect()
    sql.run(con, "create", CREATE, {"n": 5, "unused": "x"})
    assert sql.fetchall(con, "pick", sql.with_idents(PICK, table="t"), {"low": 3, "n": 5}) == [(3,), (4,)]
    assert sql.scalar(con, "count", "SELECT count(*) FROM t") == 5


def test_a_value_in_a_parameter_is_never_sql():
    con = duckdb.connect()
    sql.run(con, "create", "CREATE TABLE s (name VARCHAR)")
    sql.run(con, "insert", "INSERT INTO s VALUES ($name)", {"name": "O'Brien'); DROP TABLE s; --"})
    assert sql.fetchall(con, "read", "SELECT name FROM s") == [("O'Brien'); DROP TABLE s; --",)]


@pytest.mark.parametrize("bad", ["t; DROP TABLE t", 't"', "1t", "", "a b", "é"])
def test_identifiers_outside_the_plain_alphabet_are_refused(bad):
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        sql.with_idents(PICK, table=bad)


def test_identifier_lists_are_quoted_and_joined_and_other_braces_are_kept():
    text = sql.with_idents("SELECT {cols}, {'a': 1} AS s FROM {table}", cols=["x", "y"], table="t")
    assert text == "SELECT \"x\", \"y\", {'a': 1} AS s FROM \"t\""
    with pytest.raises(ValueError, match="not in the statement"):
        sql.with_idents(PICK, table="t", other="u")


def test_each_statement_is_logged_with_its_name_duration_and_rows(caplog):
    con = duckdb.connect()
    with caplog.at_level(logging.DEBUG, logger="silentcert.sql"):
        sql.run(con, "create_numbers", CREATE, {"n": 7})
        sql.fetchall(con, "read_numbers", "SELECT * FROM t")
        counted = sql.run(con, "insert_numbers", "INSERT INTO t SELECT 100 + range FROM range(3)").fetchall()
    assert counted == [(3,)]  # the count read for the log is still the caller's
    messages = [r.getMessage() for r in caplog.records if r.name == "silentcert.sql"]
    assert messages[0].startswith("sql create_numbers: ") and messages[0].endswith(", 7 rows")
    assert messages[1].startswith("sql read_numbers: ") and messages[1].endswith(", 7 rows")


def test_a_catalog_statement_is_composed_in_as_a_subquery_and_positional_values_still_bind():
    con = duckdb.connect()
    sql.run(con, "create", CREATE, {"n": 4})
    outer = "SELECT count(*) FROM ({inner}) WHERE i < ?"
    assert sql.scalar(con, "composed", sql.compose(outer, inner="SELECT i FROM t"), [3]) == 3
    with pytest.raises(ValueError, match="not in the statement"):
        sql.compose(outer, inner="SELECT i FROM t", other="SELECT 1")


def test_the_row_of_an_aggregate_is_typed_and_a_missing_row_names_the_statement():
    con = duckdb.connect()
    sql.run(con, "create", CREATE, {"n": 4})
    assert sql.one(con, "bounds", "SELECT min(i), max(i) FROM t") == (0, 3)
    assert sql.fetchone(con, "none_above", "SELECT i FROM t WHERE i > $low", {"low": 9}) is None
    with pytest.raises(LookupError, match="sql weak_threshold: no row"):
        sql.scalar(con, "weak_threshold", "SELECT i FROM t WHERE i > $low", {"low": 9})
