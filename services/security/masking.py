"""Masking ID numbers and phones in responses for roles that do not need the full value.

    3601021940031200 1X  →  3601**********001X    (first 4, last 4 of an 18-character number)
    13800008000          →  138****8000           (first 3, last 4 of a mobile)

The walk is by field name, so a field added later under the same name is masked too: any string field named
``id_number`` or ``phone``, any string map entry keyed so (graph node properties), and the ``value`` of an
Identifier whose kind is an ID number or a phone. Free text written for people (a flag's ``detail``, a verdict's
``explanation``) has every
ID number and mobile number in it masked the same way.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

MASK = "*"
_ID_FIELDS = {"id_number"}
_PHONE_FIELDS = {"phone"}
_TEXT_FIELDS = {"detail", "explanation"}  # sentences that may quote identifiers (a department's record id)
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])1[0-9]{10}(?![0-9])")
TEXTS_KEPT = 4096  # masked texts kept (a few hundred bytes each)
# Identifier.kind enum names whose `value` is masked, and how
_KIND_MASKS = {"IDENTIFIER_KIND_ID_NUMBER": "id_number", "IDENTIFIER_KIND_PHONE": "phone"}


def mask_id_number(value: str) -> str:
    """Keep the region prefix (4) and the last 4 characters; shorter values keep only their last character."""
    return _keep(value, 4, 4)


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits (138****8000); shorter numbers keep only their last 2."""
    return _keep(value, 3, 4)


def _keep(value: str, head: int, tail: int) -> str:
    if not value:
        return value
    if len(value) <= head + tail:
        keep = min(2, len(value) - 1)
        return MASK * (len(value) - keep) + value[len(value) - keep:]
    return value[:head] + MASK * (len(value) - head - tail) + value[-tail:]


@functools.lru_cache(maxsize=TEXTS_KEPT)
def mask_text(text: str) -> str:
    """`text` with every 18-character ID number and 11-digit mobile number in it masked. The same explanation is
    masked again each time an answer is given again (services/liveness/answers.py): the last ones are kept."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group()), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group()), text)


_MASKERS: dict[str, Callable[[str], str]] = {"id_number": mask_id_number, "phone": mask_phone, "text": mask_text}


def mask_message(message: Message) -> None:
    """Mask every ID number and phone inside `message`, in place."""
    plan = _plan(message.DESCRIPTOR)
    if not plan.walk:
        return
    kind = _identifier_kind(message) if plan.identifier else None
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.name in plan.nested:
                _mask_nested(field, value)
        elif field.type == FieldDescriptor.TYPE_STRING and not _is_repeated(field):
            masker = _masker_for(field.name, kind)
            if masker:
                setattr(message, field.name, masker(value))


@dataclass(frozen=True)
class _Plan:
    """What of a message type can hold a value to mask, worked out once per type: the walk skips the rest (a
    GetLiveness answer's evidence records hold none, and were most of the walk's time)."""

    walk: bool  # anything below may need masking
    identifier: bool  # an Identifier-like message: its `value` is masked by its `kind`
    nested: frozenset[str]  # message fields (maps included) to descend into


_planning: set[Descriptor] = set()  # types whose plan is being worked out: a recursive type walks itself
_planning_lock = threading.RLock()  # one thread works plans out, so no other's half-made plan is taken as final


@functools.cache
def _plan(descriptor: Descriptor) -> _Plan:
    with _planning_lock:
        _planning.add(descriptor)
        try:
            return _work_out(descriptor)
        finally:
            _planning.discard(descriptor)


def _work_out(descriptor: Descriptor) -> _Plan:
    fields = descriptor.fields_by_name
    kind, value = fields.get("kind"), fields.get("value")
    identifier = kind is not None and value is not None and kind.enum_type is not None
    nested = frozenset(f.name for f in descriptor.fields
                       if f.message_type is not None and _may_hold_masked(f.message_type))
    masked_strings = any(f.type == FieldDescriptor.TYPE_STRING and not _is_repeated(f) and _field_kind(f.name)
                         for f in descriptor.fields)
    return _Plan(identifier or bool(nested) or masked_strings, identifier, nested)


def _may_hold_masked(descriptor: Descriptor) -> bool:
    if descriptor.GetOptions().map_entry:  # entries are masked by their key, known only at run time
        return descriptor.fields_by_name["value"].type == FieldDescriptor.TYPE_STRING
    return descriptor in _planning or _plan(descriptor).walk


def _mask_nested(field: FieldDescriptor, value) -> None:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        _mask_map(value)
    elif _is_repeated(field):
        for item in value:
            mask_message(item)
    else:
        mask_message(value)


def _mask_map(mapping) -> None:
    for key in list(mapping.keys()):
        masker = _MASKERS.get(_field_kind(key) or "")
        if masker and isinstance(mapping[key], str):
            mapping[key] = masker(mapping[key])


def _masker_for(name: str, identifier_kind: str | None):
    if name == "value" and identifier_kind:
        return _MASKERS[identifier_kind]
    return _MASKERS.get(_field_kind(name) or "")


def _field_kind(name: str) -> str | None:
    if name in _ID_FIELDS:
        return "id_number"
    if name in _PHONE_FIELDS:
        return "phone"
    if name in _TEXT_FIELDS:
        return "text"
    return None


def _identifier_kind(message: Message) -> str | None:
    """'id_number' or 'phone' for an Identifier-like message (enum field `kind` + string `value`)."""
    fields = message.DESCRIPTOR.fields_by_name
    kind, value = fields.get("kind"), fields.get("value")
    if kind is None or value is None or kind.enum_type is None:
        return None
    enum_value = kind.enum_type.values_by_number.get(getattr(message, "kind"))  # noqa: B009  (a field found by its descriptor: Message has no typed .kind)
    return _KIND_MASKS.get(enum_value.name) if enum_value else None


def _is_repeated(field: FieldDescriptor) -> bool:
    return field.is_repeated
