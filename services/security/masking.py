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

import re

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

MASK = "*"
_ID_FIELDS = {"id_number"}
_PHONE_FIELDS = {"phone"}
_TEXT_FIELDS = {"detail", "explanation"}  # sentences that may quote identifiers (a department's record id)
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])1[0-9]{10}(?![0-9])")
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


def mask_text(text: str) -> str:
    """`text` with every 18-character ID number and 11-digit mobile number in it masked."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group()), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group()), text)


_MASKERS = {"id_number": mask_id_number, "phone": mask_phone, "text": mask_text}


def mask_message(message: Message) -> None:
    """Mask every ID number and phone inside `message`, in place."""
    kind = _identifier_kind(message)
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            _mask_nested(field, value)
        elif field.type == FieldDescriptor.TYPE_STRING and not _is_repeated(field):
            masker = _masker_for(field.name, kind)
            if masker:
                setattr(message, field.name, masker(value))


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
