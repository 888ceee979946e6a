"""pipeline.kinesis_event builds the record AWS documents (tests/events/kinesis_record.json)."""

from __future__ import annotations

import sample_events

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
