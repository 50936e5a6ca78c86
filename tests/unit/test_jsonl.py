"""``profile360 produce``'s JSON lines: every timestamp field takes ISO 8601 or epoch millis."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson

from profile360.bootstrap import load_codec
from profile360.events.jsonl import parse_lines
from profile360.topics import RECORDS_BY_FAMILY

CODEC = load_codec()
FEEDBACK = {"$schema": "FeedbackRecorded", "eventId": "fb-1", "tenantId": "demo", "occurredAt": "2026-03-15T10:30:00Z",
            "feedbackUuid": "f1", "customerUuid": "c1", "contents": "Great service", "sentiment": 0.8}


def parse(**fields) -> tuple[list, list]:
    return parse_lines([orjson.dumps({**FEEDBACK, **fields})], RECORDS_BY_FAMILY["feedback"], CODEC)


def test_every_timestamp_field_takes_iso_8601_or_epoch_millis():
    (iso,), errors = parse(feedbackDate="2026-03-14T09:00:00+02:00")
    assert errors == []
    (millis,), _ = parse(occurredAt=1773570600000, feedbackDate=1773471600000)
    assert iso == millis
    assert iso[1]["feedbackDate"] == datetime(2026, 3, 14, 7, tzinfo=timezone.utc)


def test_a_timestamp_without_zone_or_not_a_time_is_named():
    _, (naive,) = parse(feedbackDate="2026-03-14T09:00:00")
    assert "FeedbackRecorded.feedbackDate" in naive.message and "no time zone" in naive.message
    _, (bad,) = parse(feedbackDate="yesterday")
    assert "FeedbackRecorded.feedbackDate" in bad.message and "not an ISO 8601" in bad.message


def test_every_error_names_its_field_and_nested_records_stay_strict():
    from profile360.events.jsonl import RecordError, checked

    click = {"$schema": "InteractionEvent", "eventId": "e1", "tenantId": "demo", "occurredAt": "2026-03-15T10:30:00Z",
             "customerId": "c1", "type": "click"}
    names = ("InteractionEvent", "Identify")
    assert checked(click, names, CODEC)[0] == "InteractionEvent"
    for patch, field in (({"customerId": 5}, "customerId"), ({"channel": 5}, "channel"), ({"customerID": "x"}, "customerID"),
                         ({"occurredAt": 1.5}, "occurredAt"), ({"type": "Not A Type!"}, "type"), ({"$schema": "Offer"}, "$schema")):
        try:
            checked({**click, **patch}, names, CODEC)
            raise AssertionError(f"accepted {patch}")
        except RecordError as exc:
            assert exc.field == field, (patch, exc.field, str(exc))
    identify = {"$schema": "Identify", "eventId": "i1", "tenantId": "demo", "occurredAt": 0,
                "identifiers": [{"type": "email", "value": "a@example.com", "extra": 1}]}
    try:
        checked(identify, names, CODEC)
        raise AssertionError("an unknown key of a nested record was accepted")
    except RecordError as exc:
        assert "extra" in str(exc)
