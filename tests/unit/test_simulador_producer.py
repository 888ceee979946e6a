"""Producer batching and retries (stub client), manifest, and the send command end to end on moto."""

from __future__ import annotations

import base64
import json
import random
import threading
from dataclasses import dataclass

import boto3
import pytest

from simulador.__main__ import main
from simulador.generator import KIND_DUPLICATE, KIND_MALFORMED, KIND_VALID
from simulador.manifest import RunStats, build_summary, read_manifest, read_summary
from simulador.producer import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    MAX_BYTES_PER_CALL,
    DeliveryError,
    backoff_delay,
    batch_limit_for_rate,
    iter_batches,
    iter_send,
    paced,
    put_batch,
    record_size,
)

MIB = 1024 * 1024


@dataclass(frozen=True)
class Rec:
    data: bytes
    partition_key: str = "ARG"


def small_records(n: int) -> list[Rec]:
    return [Rec(f"event-{i}".encode()) for i in range(n)]


class StubKinesis:
    """put_records that fails chosen records a number of times, like throttling of a hot shard."""

    def __init__(self, failures: dict[bytes, int] | None = None):
        self.failures = dict(failures or {})
        self.calls: list[list[dict]] = []
        self.sequence = 0

    def put_records(self, StreamName, Records):
        assert StreamName == "s"
        assert len(Records) <= 500
        assert sum(len(r["Data"]) + len(r["PartitionKey"].encode()) for r in Records) <= MAX_BYTES_PER_CALL
        self.calls.append(Records)
        results = []
        for entry in Records:
            if self.failures.get(entry["Data"], 0) > 0:
                self.failures[entry["Data"]] -= 1
                results.append(
                    {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded for shard"}
                )
            else:
                self.sequence += 1
                results.append({"ShardId": "shardId-000000000000", "SequenceNumber": str(self.sequence)})
        failed = sum("ErrorCode" in r for r in results)
        return {"FailedRecordCount": failed, "Records": results}


@pytest.fixture
def aws_env(mocked_aws, monkeypatch):
    """A Kinesis client of moto's in-process mock (`mocked_aws`: tests/unit/conftest.py); no STREAM_NAME."""
    monkeypatch.delenv("STREAM_NAME", raising=False)
    return boto3.client("kinesis")


# --- batching -------------------------------------------------------------------------------


def test_batches_hold_at_most_500_records_in_order():
    records = small_records(1201)
    batches = list(iter_batches(records))
    assert [len(b) for b in batches] == [500, 500, 201]
    assert [r for b in batches for r in b] == records


def test_batches_split_on_5_mib_counting_partition_keys():
    big = [Rec(bytes([i]) * 600_000, "COL") for i in range(12)]
    batches = list(iter_batches(big))
    assert [len(b) for b in batches] == [8, 4]  # 9 x 600_003 bytes > 5 MiB
    assert all(sum(record_size(r) for r in b) <= MAX_BYTES_PER_CALL for b in batches)

    # Exactly 5 MiB (data + keys) fits in one call.
    exact = [Rec(b"x" * (MIB - 1), "A")] * 5
    assert [len(b) for b in iter_batches(exact)] == [5]
    # 6 x 873_813 data bytes fit in 5 MiB, but not with their partition keys.
    assert 6 * 873_813 <= MAX_BYTES_PER_CALL < 6 * (873_813 + 1)
    assert [len(b) for b in iter_batches([Rec(b"x" * 873_813, "A")] * 6)] == [5, 1]


def test_oversized_record_is_refused():
    with pytest.raises(ValueError, match="exceeds the Kinesis limit"):
        list(iter_batches([Rec(b"x" * MIB, "ARG")]))


def test_large_payloads_go_through_moto_limits(aws_env):
    aws_env.create_stream(StreamName="big", ShardCount=1)
    big = [Rec(bytes([65 + i]) * 900_000, "BRA") for i in range(13)]
    calls = []
    sent = list(iter_send(aws_env, "big", big, on_progress=calls.append))
    assert [s.record for s in sent] == big
    assert calls == [5, 5, 3]  # moto itself rejects a call above 5 MiB


def test_rate_limited_batches_stay_small():
    assert batch_limit_for_rate(0) == 500
    assert batch_limit_for_rate(1) == 1
    assert batch_limit_for_rate(100) == 20
    assert batch_limit_for_rate(1_000_000) == 500


def test_paced_spaces_items_at_the_rate():
    now = [100.0]
    pulled_at = []

    def items():
        for i in range(5):
            pulled_at.append(now[0])
            yield i

    def sleep(seconds):
        assert seconds > 0
        now[0] += seconds

    assert list(paced(items(), 10.0, sleep=sleep, monotonic=lambda: now[0])) == [0, 1, 2, 3, 4]
    assert pulled_at == pytest.approx([100.0, 100.1, 100.2, 100.3, 100.4])


def test_iter_send_with_rate_sleeps_between_records():
    now = [0.0]
    stub = StubKinesis()

    def sleep(seconds):
        now[0] += seconds

    sent = list(iter_send(stub, "s", small_records(10), rate=5.0, sleep=sleep, monotonic=lambda: now[0]))
    assert len(sent) == 10
    assert [len(c) for c in stub.calls] == [1] * 10  # 5/s -> one record per batch
    assert now[0] == pytest.approx(2.0)  # item i is due at i / 5 s; the end is noticed one slot later


# --- retries --------------------------------------------------------------------------------


def test_only_failed_records_are_resent():
    records = small_records(10)
    stub = StubKinesis({records[2].data: 1, records[7].data: 2})
    delays = []
    outcome = put_batch(stub, "s", records, sleep=delays.append, rng=random.Random(0))
    assert not outcome.failed and outcome.attempts == 3
    assert [len(c) for c in stub.calls] == [10, 2, 1]
    assert [r["Data"] for r in stub.calls[1]] == [records[2].data, records[7].data]
    assert [r["Data"] for r in stub.calls[2]] == [records[7].data]
    assert [s.record for s in outcome.delivered] == records  # results keep the input order
    assert len({s.sequence_number for s in outcome.delivered}) == 10
    assert len(delays) == 2
    assert 0 <= delays[0] <= BACKOFF_BASE_SECONDS and 0 <= delays[1] <= 2 * BACKOFF_BASE_SECONDS


def test_bounded_attempts_raise_naming_the_failed_count():
    records = small_records(5)
    stub = StubKinesis({records[1].data: 99, records[3].data: 99})
    sent, progress = [], []
    with pytest.raises(DeliveryError) as raised:
        for item in iter_send(stub, "s", records, max_attempts=4, sleep=lambda s: None, on_progress=progress.append):
            sent.append(item)  # noqa: PERF402 - the loop must run inside pytest.raises
    error = raised.value
    assert (error.failed, error.batch_size, error.attempts) == (2, 5, 4)
    assert "2 of 5 records" in str(error) and "ProvisionedThroughputExceededException" in str(error)
    assert len(stub.calls) == 4
    # What did get through was still handed out, so a manifest stays exact.
    assert [s.record for s in sent] == [records[0], records[2], records[4]]
    assert progress == [3]


class GatedKinesis(StubKinesis):
    """A stub whose calls answer only when the test lets them, newest first, and that records how
    many calls were outstanding at once."""

    def __init__(self, failures: dict[bytes, int] | None = None):
        super().__init__(failures)
        self.lock = threading.Lock()
        self.outstanding = 0
        self.most_outstanding = 0
        self.arrived = threading.Semaphore(0)
        self.gates: list[threading.Event] = []

    def put_records(self, StreamName, Records):
        gate = threading.Event()
        with self.lock:
            self.outstanding += 1
            self.most_outstanding = max(self.most_outstanding, self.outstanding)
            self.gates.append(gate)
        self.arrived.release()
        gate.wait(timeout=30)
        with self.lock:
            self.outstanding -= 1
            return super().put_records(StreamName, Records)

    def answer_newest_first(self, calls: int) -> None:
        """Wait until `calls` calls are outstanding, then let them answer, the last sent first."""
        for _ in range(calls):
            assert self.arrived.acquire(timeout=30)
        with self.lock:
            gates = self.gates[-calls:]
        for gate in reversed(gates):
            gate.set()


def test_calls_in_flight_overlap_yet_records_come_back_in_the_order_sent():
    records = small_records(2000)  # 4 calls of 500
    stub = GatedKinesis()
    releaser = threading.Thread(target=lambda: (stub.answer_newest_first(3), stub.answer_newest_first(1)))
    releaser.start()
    sent = list(iter_send(stub, "s", records, in_flight=3))
    releaser.join(timeout=30)
    assert stub.most_outstanding == 3
    assert [s.record for s in sent] == records
    assert len({s.sequence_number for s in sent}) == len(records)


class LockedKinesis(StubKinesis):
    """The stub, safe to call from several threads at once."""

    def __init__(self, failures: dict[bytes, int] | None = None):
        super().__init__(failures)
        self.lock = threading.Lock()

    def put_records(self, StreamName, Records):
        with self.lock:
            return super().put_records(StreamName, Records)


def test_a_failed_call_still_hands_out_every_record_of_the_calls_in_flight():
    records = small_records(1500)  # 3 calls of 500, all sent before the first answer is read
    stub = LockedKinesis({records[0].data: 99})  # the first call's first record never gets in
    sent = []
    with pytest.raises(DeliveryError) as raised:
        for item in iter_send(stub, "s", records, in_flight=3, max_attempts=4, sleep=lambda s: None):
            sent.append(item)  # noqa: PERF402 - the loop must run inside pytest.raises
    assert (raised.value.failed, raised.value.batch_size, raised.value.attempts) == (1, 500, 4)
    assert [s.record for s in sent] == records[1:]  # nothing acknowledged is missing from the manifest


def test_in_flight_must_be_positive():
    with pytest.raises(ValueError, match="in_flight"):
        list(iter_send(StubKinesis(), "s", small_records(1), in_flight=0))


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap():
    rng = random.Random(1)
    for retry in range(12):
        bound = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**retry)
        samples = [backoff_delay(retry, rng) for _ in range(200)]
        assert all(0 <= s <= bound for s in samples)
        assert max(samples) > bound * 0.8  # jitter spans the range


# --- end to end on moto ---------------------------------------------------------------------


def read_all_shards(client, stream):
    stored = {}
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while True:
            response = client.get_records(ShardIterator=iterator, Limit=10000)
            for record in response["Records"]:
                stored[(shard["ShardId"], record["SequenceNumber"])] = record
            if not response["Records"]:
                break
            iterator = response["NextShardIterator"]
    return stored


def test_send_end_to_end_matches_the_manifest_exactly(aws_env, tmp_path, capsys):
    aws_env.create_stream(StreamName="eventos", ShardCount=2)
    manifest_path = tmp_path / "out" / "manifest.jsonl"
    argv = [
        "send",
        "--stream",
        "eventos",
        "--count",
        "1200",
        "--malformed-ratio",
        "0.05",
        "--duplicate-ratio",
        "0.05",
        "--manifest",
        str(manifest_path),
        "--no-progress",
        # moto's in-process Kinesis numbers records without a lock (the embedded emulator adds one:
        # tests/emulator/test_emulator_hooks.py), so calls in flight at once could share a number here.
        "--in-flight",
        "1",
    ]
    assert main(argv) == 0

    entries = read_manifest(manifest_path)
    stored = read_all_shards(aws_env, "eventos")
    assert len(entries) == len(stored) == 1320
    assert {(e["shard_id"], e["sequence_number"]) for e in entries} == set(stored)
    assert len({shard for shard, _ in stored}) == 2  # both shards were used

    kinds = [e["kind"] for e in entries]
    assert (kinds.count(KIND_VALID), kinds.count(KIND_DUPLICATE), kinds.count(KIND_MALFORMED)) == (1200, 60, 60)
    for entry in entries:
        record = stored[(entry["shard_id"], entry["sequence_number"])]
        assert record["PartitionKey"] == entry["partition_key"]
        if entry["kind"] == KIND_MALFORMED:
            assert base64.b64decode(entry["raw_b64"]) == record["Data"]
            assert entry["event_id"] is None and entry["pais"] is None and entry["malformed_kind"]
        else:
            event = json.loads(record["Data"])
            assert event == {
                "schema_version": 1,
                **{k: entry[k] for k in ("event_id", "timestamp", "indicador", "pais", "valor", "fuente")},
            }
            assert entry["partition_key"] == event["pais"] and entry["raw_b64"] is None

    valid_ids = [e["event_id"] for e in entries if e["kind"] == KIND_VALID]
    duplicate_ids = [e["event_id"] for e in entries if e["kind"] == KIND_DUPLICATE]
    assert len(set(valid_ids)) == 1200 and set(duplicate_ids) <= set(valid_ids)

    summary = read_summary(manifest_path)
    assert {
        k: summary[k] for k in ("stream", "events_sent", "valid", "duplicates", "malformed", "unique_valid_event_ids")
    } == {
        "stream": "eventos",
        "events_sent": 1320,
        "valid": 1200,
        "duplicates": 60,
        "malformed": 60,
        "unique_valid_event_ids": 1200,
    }
    assert summary["seconds"] > 0 and summary["events_per_second"] > 0
    stats = RunStats()
    for entry in entries:
        stats.add(entry)
    recomputed = build_summary(stats, stream="eventos", seconds=summary["seconds"])
    assert {k: v for k, v in recomputed.items() if k != "events_per_second"} == {
        k: v for k, v in summary.items() if k != "events_per_second"
    }
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Sent 1320 records to stream 'eventos'" in out
    assert "1200 valid events (1200 unique event_ids), 60 duplicates" in out


def test_same_seed_twice_sends_same_values_with_new_ids(aws_env, tmp_path):
    aws_env.create_stream(StreamName="eventos", ShardCount=1)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for path in (first, second):
        assert main(["send", "--stream", "eventos", "--count", "50", "--manifest", str(path), "--no-progress"]) == 0
    a, b = read_manifest(first), read_manifest(second)
    assert [(e["pais"], e["indicador"], e["valor"]) for e in a] == [(e["pais"], e["indicador"], e["valor"]) for e in b]
    assert not {e["event_id"] for e in a} & {e["event_id"] for e in b}


def test_stream_name_from_environment(aws_env, tmp_path, monkeypatch):
    aws_env.create_stream(StreamName="from-env", ShardCount=1)
    monkeypatch.setenv("STREAM_NAME", "from-env")
    assert main(["send", "--count", "3", "--manifest", str(tmp_path / "m.jsonl"), "--no-progress"]) == 0
    assert read_summary(tmp_path / "m.jsonl")["stream"] == "from-env"


def test_missing_stream_is_a_one_line_error(aws_env, tmp_path, capsys):
    manifest_path = tmp_path / "m.jsonl"
    assert main(["send", "--stream", "nope", "--manifest", str(manifest_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stream 'nope' not found") and err.count("\n") == 1
    assert not manifest_path.exists()


def test_delivery_failure_exits_1_with_the_manifest_of_what_got_through(aws_env, tmp_path, capsys, monkeypatch):
    aws_env.create_stream(StreamName="eventos", ShardCount=1)
    real_client = boto3.client

    class Throttled:
        """Rejects every record of partition key MEX, like a permanently hot shard."""

        def __init__(self, client):
            self.client = client

        def __getattr__(self, name):
            return getattr(self.client, name)

        def put_records(self, StreamName, Records):
            ok = [r for r in Records if r["PartitionKey"] != "MEX"]
            done = iter(self.client.put_records(StreamName=StreamName, Records=ok)["Records"]) if ok else iter(())
            results = [
                {"ErrorCode": "InternalFailure", "ErrorMessage": "boom"} if r["PartitionKey"] == "MEX" else next(done)
                for r in Records
            ]
            return {"FailedRecordCount": sum("ErrorCode" in r for r in results), "Records": results}

    monkeypatch.setattr("simulador.__main__.boto3.client", lambda *a, **k: Throttled(real_client(*a, **k)))
    monkeypatch.setattr("simulador.producer.backoff_delay", lambda retry, rng: 0.0)
    manifest_path = tmp_path / "m.jsonl"
    assert (
        main(["send", "--stream", "eventos", "--count", "100", "--manifest", str(manifest_path), "--no-progress"]) == 1
    )
    err = capsys.readouterr().err.strip()
    entries = read_manifest(manifest_path)
    mex = sum(1 for e in entries if e["pais"] == "MEX")
    assert mex == 0 and 0 < len(entries) < 100
    assert err.startswith("error: ") and f"{len(entries)} records were delivered" in err and "InternalFailure" in err
    assert len(read_all_shards(aws_env, "eventos")) == len(entries)
