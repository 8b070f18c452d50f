from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from silentcert.services.resolver.dates import date_sql, normalise_date, normalise_timestamp, timestamp_sql
from silentcert.services.resolver.rejections import Rejection

days = st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 12, 31))
times = st.times().map(lambda t: t.replace(microsecond=0))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-10-31", datetime(2021, 10, 31)),
        ("2021/1/5", datetime(2021, 1, 5)),
        ("20211031", datetime(2021, 10, 31)),
        ("2021-10-31 08:05", datetime(2021, 10, 31, 8, 5)),
        ("2021-10-31 08:05:09", datetime(2021, 10, 31, 8, 5, 9)),
        ("2021-10-31T08:05:09", datetime(2021, 10, 31, 8, 5, 9)),
        ("2021/1/5 8:05", datetime(2021, 1, 5, 8, 5)),
        ("  ２０２１－１０－３１ ", datetime(2021, 10, 31)),
        ("2020-02-29", datetime(2020, 2, 29)),
        ("2021年10月31日", datetime(2021, 10, 31)),
        ("２０２１年１月５日 8:05", datetime(2021, 1, 5, 8, 5)),
        ("2021年1月5日08:05:09", datetime(2021, 1, 5, 8, 5, 9)),
        ("2021.1.5", datetime(2021, 1, 5)),
        ("2021.01.05 08:05", datetime(2021, 1, 5, 8, 5)),
    ],
)
def test_allowed_formats(raw, expected):
    assert normalise_timestamp(raw) == expected
    assert normalise_date(raw) == expected.date()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2021-02-30", "occurred_at 2021-02-30 is not a real date"),
        ("20210230", "occurred_at 20210230 is not a real date"),
        ("2021/13/1", "occurred_at 2021/13/1 is not a real date"),
        ("1900-02-29", "occurred_at 1900-02-29 is not a real date"),
        ("2021-10-31 24:00", "occurred_at 2021-10-31 24:00 has an impossible time of day"),
        ("2021-10-31 23:59:60", "occurred_at 2021-10-31 23:59:60 has an impossible time of day"),
        ("0021-10-31", "occurred_at 0021-10-31 has year 21, outside 1800-2200"),
        ("31/10/2021", "occurred_at 31/10/2021 is not in a known format "
         "(YYYY-MM-DD, YYYY/M/D or YYYYMMDD, optionally with a time HH:MM[:SS[.fff]])"),
        ("2021-10/31", "occurred_at 2021-10/31 is not in a known format "
         "(YYYY-MM-DD, YYYY/M/D or YYYYMMDD, optionally with a time HH:MM[:SS[.fff]])"),
        ("2021年2月30日", "occurred_at 2021年2月30日 is not a real date"),
        ("31.10.2021", "occurred_at 31.10.2021 is not in a known format "
         "(YYYY-MM-DD, YYYY/M/D or YYYYMMDD, optionally with a time HH:MM[:SS[.fff]])"),
    ],
)
def test_reasons_name_the_value(raw, reason):
    assert normalise_timestamp(raw, "occurred_at") == Rejection("occurred_at", raw, reason)
    assert normalise_date(raw, "occurred_at") == Rejection("occurred_at", raw, reason)


@pytest.mark.parametrize("raw", [None, "", "  ", "\u3000"])
def test_empty_is_absent(raw):
    assert normalise_date(raw) is None


@st.composite
def formatted(draw, day: date, moment: datetime | None = None) -> str:
    text = draw(st.sampled_from([
        f"{day.year:04d}-{day.month:02d}-{day.day:02d}",
        f"{day.year:04d}-{day.month}-{day.day}",
        f"{day.year:04d}/{day.month}/{day.day}",
        f"{day.year:04d}/{day.month:02d}/{day.day:02d}",
        f"{day.year:04d}{day.month:02d}{day.day:02d}",
        f"{day.year:04d}年{day.month}月{day.day}日",
        f"{day.year:04d}.{day.month:02d}.{day.day:02d}",
    ]))
    if moment is None:
        return text
    clock = draw(st.sampled_from([f" {moment.hour}:{moment.minute:02d}:{moment.second:02d}",
                                  f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}",
                                  f" {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.000"]))
    return text + clock


@given(st.data(), days)
def test_every_format_of_a_date_reads_back(data, day):
    assert normalise_date(data.draw(formatted(day))) == day


@given(st.data(), days, times)
def test_every_format_of_a_timestamp_reads_back(data, day, clock):
    moment = datetime.combine(day, clock)
    assert normalise_timestamp(data.draw(formatted(day, moment))) == moment


@given(st.integers(1800, 2200), st.integers(1, 12), st.integers(29, 99))
def test_days_past_the_end_of_the_month_are_rejected_not_wrapped(year, month, day):
    try:
        date(year, month, day)
    except ValueError:
        for text in (f"{year}-{month:02d}-{day:02d}", f"{year}{month:02d}{day:02d}", f"{year}/{month}/{day}"):
            result = normalise_date(text)
            assert isinstance(result, Rejection) and text in result.reason


# ---- SQL and Python agree --------------------------------------------------------------------------

date_alphabet = st.sampled_from(list("0123456789-/: T.年月日") + ["２", "－", "\u3000", "x"])


@st.composite
def messy_values(draw) -> str | None:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        day = draw(days)
        return draw(formatted(day, datetime.combine(day, draw(times)) if draw(st.booleans()) else None))
    if kind == 1:
        return draw(st.from_regex(r"[0-9]{4}[-/.年]?[0-9]{1,2}[-/.月]?[0-9]{1,2}日?( [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?",
                                  fullmatch=True))
    if kind == 2:
        return draw(st.text(date_alphabet, max_size=20))
    if kind == 3:
        return draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
    if kind == 4:
        return " " + draw(st.from_regex(r"[0-9]{8}", fullmatch=True)) + "\t"
    return draw(st.sampled_from([None, "", " "]))


def _python_row(raw):
    moment = normalise_timestamp(raw, "birth_date")
    day = normalise_date(raw, "birth_date")
    if isinstance(moment, Rejection):
        return (None, moment.reason, None, moment.reason)
    return (moment, None, day, None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(messy_values(), min_size=1, max_size=300))
def test_sql_and_python_agree(run_sql, values):
    rows = run_sql(values, *timestamp_sql("v", "birth_date"), *date_sql("v", "birth_date"))
    assert rows == [_python_row(raw) for raw in values]


# ISO values take a shortcut in SQL (DuckDB's cast); at its edges it must still decide as the rules do.
ISO_EDGES = ["2021-10-31", "2021-10-31 08:05", "2021-10-31T08:05:09", "2021-10-31 08:05:09.5",
             "2021-10-31 08:05:09.123456", "2021-10-31 08:05:09.1234567", "2021-10-31 08:05:09,5", "2020-02-29",
             "2021-02-29", "2021-04-31 10:00", "1900-02-29", "2000-02-29 23:59:59", "1800-01-01 00:00:00",
             "1799-12-31", "2200-12-31 23:59:59", "2201-01-01", "2021-10-31 24:00", "2021-10-31 23:60",
             "2021-10-31 23:59:60", "2021-10-31 8:05", "2021-10-31 08:05Z", "2021-10-31T08:05:09+08:00",
             "2021-1-5", "2021-10-31 ", " 2021-10-31", "2021-10-31\n", "2021-13-01", "2021-00-10", "2021-10-00"]


def test_iso_values_read_as_the_rules_read_them(run_sql):
    rows = run_sql(ISO_EDGES, *timestamp_sql("v", "birth_date"), *date_sql("v", "birth_date"))
    assert rows == [_python_row(raw) for raw in ISO_EDGES]
