from google.protobuf import struct_pb2

from silentcert.deathcheck.v1 import deathcheck_pb2 as dc
from silentcert.liveness.v1 import liveness_pb2 as lv
from silentcert.resolver.v1 import resolver_pb2 as rs
from silentcert.services.security.masking import _plan, mask_id_number, mask_message, mask_phone


def test_id_numbers_keep_region_and_last_four():
    assert mask_id_number("36010219400312123X") == "3601**********123X"
    assert mask_id_number("360102400312123") == "3601*******2123"  # legacy 15 digits
    assert mask_id_number("") == ""


def test_phones_keep_prefix_and_last_four():
    assert mask_phone("13800008000") == "138****8000"
    assert mask_phone("8000") == "**00"  # too short to keep both ends: only the last two


def test_identifiers_are_masked_by_kind_and_cards_left_alone():
    reply = rs.GetIdentifiersResponse(person_id="P1", identifiers=[
        rs.Identifier(kind=rs.IDENTIFIER_KIND_ID_NUMBER, value="36010219400312123X"),
        rs.Identifier(kind=rs.IDENTIFIER_KIND_PHONE, value="13800008000"),
        rs.Identifier(kind=rs.IDENTIFIER_KIND_CARD, value="C123")])
    mask_message(reply)
    assert [i.value for i in reply.identifiers] == ["3601**********123X", "138****8000", "C123"]
    assert reply.person_id == "P1"


def test_nested_fields_and_graph_properties_are_masked():
    reply = dc.GetFlagResponse(person=dc.PersonSummary(person_id="P1", id_number="36010219400312123X", name="王"),
                               nodes=[dc.GraphNode(id="n", properties={"phone": "13800008000", "source": "bus"})])
    mask_message(reply)
    assert reply.person.id_number == "3601**********123X" and reply.person.name == "王"
    assert dict(reply.nodes[0].properties) == {"phone": "138****8000", "source": "bus"}


def test_a_flag_detail_has_its_id_numbers_and_phones_masked():
    response = dc.ListFlagsResponse(flags=[dc.Flag(
        flag_id="F1", detail="phone 13800008000 shared with 36010219400312001X (card 6222000011112222333)")])
    mask_message(response)
    assert response.flags[0].detail == ("phone 138****8000 shared with 3601**********001X "
                                        "(card 6222000011112222333)")
    node = dc.GetFlagResponse(nodes=[dc.GraphNode(id="Flag:F1", properties={"detail": "id 36010219400312001X"})])
    mask_message(node)
    assert node.nodes[0].properties["detail"] == "id 3601**********001X"


def test_a_verdict_explanation_quoting_a_record_id_that_is_a_phone_is_masked():
    """The explanation names the record that dated a weak certification by the department's own record id, which
    may be a number the masked roles must not see."""
    reply = lv.GetLivenessResponse(liveness=lv.Liveness(person_id="P1", explanation=(
        "weak: 2 sources seen from 2021-04-02 on (card_spending, outpatient), log-odds 7.100 >= 6.904, dated by "
        "telecom record 13800008000; certified until 2022-04-02")))
    mask_message(reply)
    assert "dated by telecom record 138****8000; certified until 2022-04-02" in reply.liveness.explanation
    assert reply.liveness.person_id == "P1"


def test_the_walk_skips_what_holds_nothing_to_mask_and_still_masks_what_does():
    """Each message type's walk is worked out once: a GetLiveness answer's evidence records (no identifier, no
    free text) are not walked, while the verdict's explanation, identifiers by kind and keyed map entries are."""
    assert not _plan(lv.EvidenceEdge.DESCRIPTOR).walk
    assert _plan(lv.GetLivenessResponse.DESCRIPTOR).nested == {"liveness"}
    assert _plan(lv.Liveness.DESCRIPTOR).nested == frozenset()  # `evidence` left out
    assert _plan(rs.Identifier.DESCRIPTOR).identifier
    assert "properties" in _plan(dc.GraphNode.DESCRIPTOR).nested
    reply = lv.GetLivenessResponse(liveness=lv.Liveness(
        person_id="P1", explanation="dated by telecom record 13800008000",
        evidence=[lv.EvidenceEdge(source="telecom", record_id="13800008000")]))
    mask_message(reply)
    assert reply.liveness.explanation == "dated by telecom record 138****8000"
    assert reply.liveness.evidence[0].record_id == "13800008000"  # as before: a record id is not masked


def test_a_recursive_message_type_is_planned_without_end():
    """Value holds ListValue holds Value: the walk is worked out once and masks what it masked before (nothing:
    the names are string_value, not id_number or phone)."""
    value = struct_pb2.Value(list_value=struct_pb2.ListValue(values=[struct_pb2.Value(string_value="13800008000")]))
    _plan(struct_pb2.Value.DESCRIPTOR)
    mask_message(value)
    assert value.list_value.values[0].string_value == "13800008000"
