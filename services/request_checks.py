"""Validating request fields at the gRPC edge: each failure is InvalidInput naming the field."""

from __future__ import annotations

from datetime import date

from silentcert.graph.errors import InvalidInput
from silentcert.services.resolver.id_numbers import IdNumber, normalise_id_number

MAX_TEXT = 256
_SEXES = {"M": "M", "F": "F", "男": "M", "女": "F"}


def required(value: str, field: str) -> str:
    """A non-empty, stripped text of bounded length."""
    text = optional(value, field)
    if text is None:
        raise InvalidInput(f"{field} is required", field=field)
    return text


def optional(value: str, field: str) -> str | None:
    """Stripped text of bounded length, None when empty."""
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{field} longer than {MAX_TEXT} characters", field=field)
    return text or None


def id_number(value: str, field: str) -> str | None:
    """The normalised 18-character ID number, None when empty; InvalidInput with the reason when invalid."""
    if not optional(value, field):
        return None
    result = normalise_id_number(value)
    if result is None:  # nothing left once separators are dropped ("-", " / ")
        raise InvalidInput(f"{field} invalid: no digits", field=field)
    if not isinstance(result, IdNumber):
        raise InvalidInput(f"{field} invalid: {result.reason}", field=field)
    return result.value


def iso_date(value: str, field: str) -> date | None:
    """A date from 'YYYY-MM-DD', None when empty."""
    text = optional(value, field)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} must be an ISO date YYYY-MM-DD, got {text!r}", field=field) from None


def sex(value: str, field: str) -> str | None:
    """'M' or 'F' (accepting 男/女), None when empty."""
    text = optional(value, field)
    if text is None:
        return None
    if text.upper() not in _SEXES and text not in _SEXES:
        raise InvalidInput(f"{field} must be M, F, 男 or 女, got {text!r}", field=field)
    return _SEXES.get(text.upper(), _SEXES.get(text))


def bounded(value: int, field: str, *, default: int, maximum: int) -> int:
    """An int in 1..maximum; 0 means `default`."""
    if value == 0:
        return default
    if not 1 <= value <= maximum:
        raise InvalidInput(f"{field} must be between 1 and {maximum}, got {value}", field=field)
    return value
