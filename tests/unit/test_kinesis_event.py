"""pipeline.kinesis_event builds the record AWS documents (tests/events/kinesis_record.json)."""

from __future__ import annotations

import json

import sample_events
from hypothesis import given
from hypothesis import strategies as st

from pipeline import bronze, kinesis_event


def test_the_built_record_is_the_documented_one() -> None:
    documented = sample_events.load("kinesis_record")
    shard_id = bronze.shard_id_from_event_id(documented["eventID"])
    fields = documented["kinesis"]
    record = kinesis_event.KinesisRecord(
        sequence_number=int(fields["sequenceNumber"]),
        partition_key=fields["partitionKey"],
        data=fields["data"],
        arrival_time=fields["approximateArrivalTimestamp"],
    )
    event = kinesis_event.kinesis_event(
        [record], shard_id, documented["eventSourceARN"], documented["awsRegion"], documented["invokeIdentityArn"]
    )
    assert event == {"Records": [documented]}


@given(
    records=st.lists(
        st.builds(
            kinesis_event.KinesisRecord,
            sequence_number=st.integers(min_value=1, max_value=10**40),
            partition_key=st.text(min_size=1, max_size=256),
            data=st.text(),  # base64 in practice; any text must still come out as the same string
            arrival_time=st.floats(min_value=0, max_value=4e9, allow_nan=False),
        ),
        max_size=20,
    ),
    shard_id=st.text(min_size=1, max_size=40),
    role=st.text(max_size=60),
)
def test_the_event_written_as_json_text_is_the_event_lambda_sends(records, shard_id, role):
    """The embedded emulator hands workers kinesis_event_json's text; it must be kinesis_event's document."""
    arguments = (records, shard_id, "arn:aws:kinesis:us-east-1:000000000000:stream/s", "us-east-1", role)
    assert json.loads(kinesis_event.kinesis_event_json(*arguments)) == kinesis_event.kinesis_event(*arguments)
