import copy
import math

import pytest
from hypothesis import given, settings, strategies as st

from profile360.events.codec import Codec, DecodeError, SchemaVersion, schema_fingerprint
from profile360.resources import schemas_dir

from .avro_strategies import for_schema

CODEC = Codec.from_dir(schemas_dir())


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b


@pytest.mark.parametrize("name", CODEC.names)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip_every_schema(name, data):
    record = data.draw(for_schema(CODEC.latest(name).parsed))
    decoded = CODEC.decode(CODEC.encode(name, record))
    assert decoded.name == name
    assert _same(decoded.record, record)


def _older(sv: SchemaVersion) -> SchemaVersion:
    """The same record without any defaulted field: what an older producer would have written."""
    schema = copy.deepcopy(sv.parsed)
    schema["fields"] = [f for f in schema["fields"] if "default" not in f]
    return SchemaVersion(sv.name, 0, schema, schema_fingerprint(schema))


EVOLVABLE = [n for n in CODEC.names if any("default" in f for f in CODEC.latest(n).parsed["fields"])]


def test_every_schema_is_checked_for_evolution():
    assert set(CODEC.names) == set(EVOLVABLE)


@pytest.mark.parametrize("name", ["Link", "Unlink", "ConsentChanged", "ExperimentAssigned", "JourneyUpdated"])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_person_events_v1_decode_with_the_v2_reader_without_a_region(name, data):
    """v2 added the event's own ``defaultRegion``; a v1 message has none."""
    record = data.draw(for_schema(CODEC.version(name, 1).parsed))
    decoded = CODEC.decode(CODEC.encode(name, record, version=1))
    assert (decoded.version, decoded.record["defaultRegion"]) == (1, None)


@pytest.mark.parametrize("name", EVOLVABLE)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_older_writer_decodes_into_current_shape(name, data):
    latest = CODEC.latest(name)
    old = _older(latest)
    codec = Codec([old, latest])
    record = data.draw(for_schema(old.parsed))
    decoded = codec.decode(codec.encode(name, record, version=0))
    assert decoded.version == 0
    defaults = {f["name"]: f["default"] for f in latest.parsed["fields"] if "default" in f}
    assert _same(decoded.record, {**defaults, **record})


def test_interaction_v1_messages_decode_with_v2_reader():
    from datetime import datetime, timezone
    v1 = {"eventId": "e1", "tenantId": "t1", "occurredAt": datetime(2026, 3, 1, tzinfo=timezone.utc),
          "customerId": "c1", "type": "click", "channel": "EMAIL", "channelId": None, "offerId": "o1", "creativeId": None}
    decoded = CODEC.decode(CODEC.encode("InteractionEvent", v1, version=1))
    assert (decoded.version, decoded.record["offerId"]) == (1, "o1")
    assert decoded.record["metadata"] == {} and decoded.record["value"] is None and decoded.record["campaignId"] is None


def test_fingerprint_matches_the_avro_specification():
    # The Avro spec's CRC-64-AVRO of the schema "null" is 7195948357588979594, framed little-endian
    assert schema_fingerprint("null") == (7195948357588979594).to_bytes(8, "little")
    assert schema_fingerprint("null").hex() == "8a8f25cce724dd63"


def test_frame_is_avro_single_object_encoding():
    data = CODEC.encode("ErasureRequested", {"eventId": "e", "tenantId": "t", "occurredAt": 0, "customerId": "c"})
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == CODEC.latest("ErasureRequested").fingerprint


@pytest.mark.parametrize("data, reason", [
    (None, "truncated"), (b"\xc3\x01\x00", "truncated"), (b'{"json": true}', "not_single_object"),
    (b"\xc3\x01" + b"\x00" * 8 + b"body", "unknown_schema"),
])
def test_undecodable_messages_name_the_reason(data, reason):
    with pytest.raises(DecodeError) as err:
        CODEC.decode(data)
    assert err.value.reason == reason


def test_corrupt_and_trailing_bodies_are_rejected():
    good = CODEC.encode("Channel", {"eventId": "e", "tenantId": "t", "occurredAt": 0, "channelId": "c", "name": "n"})
    with pytest.raises(DecodeError) as err:
        CODEC.decode(good[:-3])
    assert err.value.reason == "corrupt_body"
    with pytest.raises(DecodeError) as err:
        CODEC.decode(good + b"\x00")
    assert err.value.reason == "trailing_bytes"


def test_encode_names_the_bad_field():
    with pytest.raises(ValueError, match="InteractionEvent"):
        CODEC.encode("InteractionEvent", {"eventId": 5})
