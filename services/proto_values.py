"""Scalar conversions between protobuf and domain values, shared by the three servicers.

Enum values follow the buf STANDARD naming ``<ENUM>_<VALUE>``; the domain uses the lower-case value
(``LIVENESS_STATUS_IN_PERSON`` ↔ ``"in_person"``). Calendar dates are ISO strings, instants Timestamps.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

from google.protobuf.timestamp_pb2 import Timestamp

from silentcert.graph.errors import InvalidInput

if TYPE_CHECKING:  # the generic wrapper exists only in the type stubs
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

V = TypeVar("V", bound=int)  # an enum's ValueType (mypy-protobuf)


def _prefix(enum: Any) -> str:
    return enum.DESCRIPTOR.values[0].name.removesuffix("UNSPECIFIED")


@cache
def _numbers(enum: Any) -> dict[str, int]:
    """Domain string → number of one enum, built once (every response converts several enums)."""
    prefix = _prefix(enum)
    return {v.name.removeprefix(prefix).lower(): v.number for v in enum.DESCRIPTOR.values}


def enum_value(enum: _EnumTypeWrapper[V], domain: str | None) -> V:
    """The protobuf number of a domain string; 0 (UNSPECIFIED) for None or an unknown string."""
    if not domain:
        return cast(V, 0)
    return cast(V, _numbers(enum).get(domain.lower(), 0))


@overload
def enum_domain(enum: Any, number: int, field: str, *, allow_unspecified: Literal[False]) -> str: ...
@overload
def enum_domain(enum: Any, number: int, field: str, *, allow_unspecified: bool = True) -> str | None: ...
def enum_domain(enum: Any, number: int, field: str, *, allow_unspecified: bool = True) -> str | None:
    """The domain string of a protobuf enum number; InvalidInput naming `field` when unknown or not allowed."""
    if number == 0 and allow_unspecified:
        return None
    if number == 0 or number not in enum.values():
        raise InvalidInput(f"{field} must be one of {_choices(enum)}, got {number}", field=field)
    return enum.Name(number).removeprefix(_prefix(enum)).lower()


def _choices(enum: Any) -> str:
    return ", ".join(name for name in enum.keys() if not name.endswith("_UNSPECIFIED"))


def iso(value: date | None) -> str:
    """A date (or the date part of a datetime) as ISO text; '' for None."""
    if value is None:
        return ""
    return (value.date() if isinstance(value, datetime) else value).isoformat()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(value: datetime | None) -> Timestamp | None:
    """A Timestamp for a datetime (naive datetimes are taken as UTC); None for None."""
    if value is None:
        return None
    # timedelta arithmetic in C, exact to the microsecond (Timestamp.FromDatetime is slower pure Python)
    since = (value if value.tzinfo else value.replace(tzinfo=UTC)) - _EPOCH
    return Timestamp(seconds=since.days * 86400 + since.seconds, nanos=since.microseconds * 1000)


EARLIEST_YEAR, LATEST_YEAR = 1900, 2200  # instants a request may carry


def from_timestamp(ts: Timestamp, field: str) -> datetime:
    """A timezone-aware UTC datetime; InvalidInput naming `field` when unset."""
    if ts.seconds == 0 and ts.nanos == 0:
        raise InvalidInput(f"{field} is required", field=field)
    try:
        when = ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):  # outside years 1..9999 or nanos out of range
        raise InvalidInput(f"{field} is not a valid instant (seconds {ts.seconds}, nanos {ts.nanos})",
                           field=field) from None
    if not EARLIEST_YEAR <= when.year < LATEST_YEAR:  # absurd, and period arithmetic would overflow near 9999
        raise InvalidInput(f"{field} {when.date()} is outside {EARLIEST_YEAR}..{LATEST_YEAR - 1}", field=field)
    return when
