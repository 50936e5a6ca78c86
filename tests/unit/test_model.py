from datetime import datetime, timezone

import pytest

from profile360.events.model import Interaction, InvalidEvent, from_record

GOOD = {"eventId": "e1", "tenantId": "acme", "occurredAt": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "customerId": "c1", "type": "click", "channel": "EMAIL", "channelId": None, "offerId": "o1",
        "creativeId": None, "campaignId": None, "workflowId": None, "value": None, "metadata": {"k": "v"}}


def test_valid_interaction_becomes_a_domain_event():
    event = from_record("InteractionEvent", GOOD)
    assert isinstance(event, Interaction)
    assert (event.customer_id, event.type, event.offer_id, event.metadata) == ("c1", "click", "o1", {"k": "v"})


@pytest.mark.parametrize("field, value", [
    ("tenantId", ""), ("tenantId", "bad tenant"), ("eventId", ""), ("customerId", "x\x00y"),
    ("occurredAt", datetime(1970, 1, 1, tzinfo=timezone.utc)), ("occurredAt", datetime(2200, 1, 1, tzinfo=timezone.utc)),
    ("type", "Not A Type"), ("channel", "FAX"), ("value", float("nan")), ("customerId", "x" * 300), ("customerId", " \t "),
])
def test_invalid_fields_are_named(field, value):
    with pytest.raises(InvalidEvent) as err:
        from_record("InteractionEvent", {**GOOD, field: value})
    assert err.value.field == field


def test_records_no_projection_consumes_are_invalid():
    with pytest.raises(InvalidEvent, match="no projection"):
        from_record("Nonesuch", {})


def test_an_erasure_names_people_only_by_hashes():
    from profile360.projections.erasure import subject_of

    base = {"eventId": "x", "tenantId": "t", "occurredAt": GOOD["occurredAt"], "customerId": None, "requestedBy": None}
    with pytest.raises(InvalidEvent) as err:
        from_record("ErasureRequested", {**base, "subjects": ["ann@x.com"]})
    assert err.value.field == "subjects[0]"
    with pytest.raises(InvalidEvent) as err:
        from_record("ErasureRequested", {**base, "subjects": []})
    assert err.value.field == "subjects"
    v1 = from_record("ErasureRequested", {**base, "subjects": [], "customerId": "C1"})  # a v1 message
    assert v1.subjects == (subject_of("t", "customer_id:C1"),)
    assert len(v1.subjects[0]) == 64 and "C1" not in v1.subjects[0]


def test_customer_ids_cannot_hold_a_colon():
    """``type:value`` names other identifiers: a colon in a customer id would be ambiguous."""
    with pytest.raises(InvalidEvent) as err:
        from_record("InteractionEvent", {**GOOD, "customerId": "web:42"})
    assert err.value.field == "customerId"
    ident = {"eventId": "i", "tenantId": "t", "occurredAt": GOOD["occurredAt"], "traits": {},
             "identifiers": [{"type": "customer_id", "value": "web:42"}]}
    with pytest.raises(InvalidEvent) as err:
        from_record("Identify", ident)
    assert err.value.field == "identifiers[0].value"
    assert from_record("Identify", {**ident, "identifiers": [{"type": "web", "value": "42:a"}]}).identifiers
