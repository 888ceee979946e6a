"""The whole pipeline on one target (by default a fresh embedded emulator; E2E_ENDPOINT: a running
emulator; E2E_ENVIRONMENT=dev|prod: AWS; see e2e_support.py): simulator -> Kinesis -> ingest -> bronze ->
transform -> silver -> aggregate -> gold + DynamoDB -> API, plus the CSV upload path, and
schema_version 1 and 2 events side by side.

Tests run in file order and build on each other (one stack per session, as a user would have).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
import uuid
from collections import Counter

import pandas as pd
import pytest
from e2e_support import ROOT, record_timing, target_from_env
from economic_events import economic_event

from lake_cli.function_url import resolve_for_function
from lake_cli.invoke_aggregate import invoke_aggregate
from lake_tools.lake_reader import (
    bronze_event_ids,
    expected_gold,
    gold_frame,
    quarantined_records,
    silver_file_frame,
    silver_frame,
    wait_until,
)
from lake_tools.local_stack import run
from pipeline import layout, table_keys
from simulador.generator import KIND_DUPLICATE, KIND_VALID
from simulador.manifest import read_manifest

pytestmark = pytest.mark.e2e
SCALE = target_from_env().timeout_scale  # longer waits on LocalStack and AWS (E2E_TIMEOUT_SCALE)

EVENTS = 300
SEED = 7
MALFORMED_RAW = [
    b"this is not json",
    json.dumps(
        {
            "event_id": "7a1f0d7e-1111-4c8e-9d53-000000000001",
            "schema_version": 1,
            "timestamp": "2026-11-22T10:00:00+00:00",
            "indicador": "PIB",
            "pais": "ARG",
            "fuente": "e2e",
        }
    ).encode(),  # no valor
    json.dumps(
        {
            "event_id": "7a1f0d7e-1111-4c8e-9d53-000000000002",
            "schema_version": 1,
            "timestamp": "2026-11-22T10:00:00+00:00",
            "indicador": "PIB",
            "pais": "XXX",
            "valor": 1.0,
            "fuente": "e2e",
        }
    ).encode(),  # unknown country
    b"\xff\xfe\x00 not utf-8",
    json.dumps(
        {
            "event_id": "7a1f0d7e-1111-4c8e-9d53-000000000003",
            "schema_version": 1,
            "timestamp": "2026-11-22T10:00:00+00:00",
            "indicador": "PIB",
            "pais": "BRA",
            "valor": "mucho",
            "fuente": "e2e",
        }
    ).encode(),  # valor is not a number
]


@pytest.fixture(scope="module")
def sent(stack, aws_env, aws, tmp_path_factory):
    """Runs the simulator (with duplicates), then sends malformed records raw with boto3."""
    manifest = tmp_path_factory.mktemp("simulator") / "manifest.jsonl"
    started = time.monotonic()
    run(
        [
            sys.executable,
            "-m",
            "simulador",
            "send",
            "--stream",
            stack.stream_name,
            "--count",
            str(EVENTS),
            "--seed",
            str(SEED),
            "--duplicate-ratio",
            "0.05",
            "--manifest",
            str(manifest),
            "--no-progress",
        ],
        aws_env,
    )
    response = aws("kinesis").put_records(
        StreamName=stack.stream_name,
        Records=[{"Data": data, "PartitionKey": f"malformed-{i}"} for i, data in enumerate(MALFORMED_RAW)],
    )
    assert response["FailedRecordCount"] == 0
    entries = read_manifest(manifest)
    return {
        "entries": entries,
        "valid": [e for e in entries if e["kind"] in (KIND_VALID, KIND_DUPLICATE)],
        "malformed": [(r["ShardId"], r["SequenceNumber"]) for r in response["Records"]],
        "sent_at": started,
    }


def test_every_valid_record_lands_in_bronze_exactly_once(stack, aws, sent):
    s3 = aws("s3")
    expected = Counter(e["event_id"] for e in sent["valid"])  # duplicates were sent twice, so twice in bronze
    counts = wait_until(
        lambda: (c := bronze_event_ids(s3, stack.bronze_bucket)) == expected and c, timeout=120 * SCALE, interval=1
    )
    record_timing("simulator_to_bronze", time.monotonic() - sent["sent_at"])
    assert counts == expected


def test_every_malformed_record_is_quarantined_with_a_reason(stack, aws, sent):
    s3 = aws("s3")
    wanted = {(shard, str(seq)) for shard, seq in sent["malformed"]}

    def ingest_quarantine_once_all_arrived():
        records = quarantined_records(s3, stack.bronze_bucket, layout.INGEST_QUARANTINE_PREFIX)
        by_key = {(r["shard_id"], str(r["sequence_number"])): r for r in records}
        return by_key if wanted <= set(by_key) else None

    everything = wait_until(ingest_quarantine_once_all_arrived, timeout=60 * SCALE)
    quarantined = {key: r for key, r in everything.items() if key in wanted}
    assert set(quarantined) == wanted
    assert all(r["reason"] for r in quarantined.values())
    # Nothing valid was quarantined by ingest.
    valid_keys = {(e["shard_id"], str(e["sequence_number"])) for e in sent["valid"]}
    assert not valid_keys & set(everything)


def test_silver_holds_exactly_the_manifest_ids_once(stack, aws, sent):
    s3 = aws("s3")
    expected_ids = {e["event_id"] for e in sent["valid"]}

    def simulator_rows():
        frame = silver_frame(s3, stack.silver_bucket)
        return frame[frame["fuente"] == "simulador"] if len(frame) else frame

    rows = wait_until(
        lambda: (f := simulator_rows()) is not None and len(f) and set(f["event_id"]) == expected_ids and f,
        timeout=120 * SCALE,
        interval=1,
    )
    record_timing("simulator_to_silver", time.monotonic() - sent["sent_at"])
    assert len(rows) == len(expected_ids), "an event appears twice in silver"
    assert set(rows["event_id"]) == expected_ids
    # Partitioned by indicador and the event's UTC day.
    manifest = pd.DataFrame(sent["valid"]).drop_duplicates("event_id").set_index("event_id")
    days = pd.to_datetime(manifest["timestamp"], utc=True, format="ISO8601").dt.strftime("%Y-%m-%d")
    joined = rows.set_index("event_id")
    assert (joined["indicador"] == manifest.loc[joined.index, "indicador"]).all()
    assert (joined["dt"] == days.loc[joined.index]).all()
    assert (joined["valor"].astype(float) == manifest.loc[joined.index, "valor"].astype(float)).all()


def test_aggregate_builds_gold_equal_to_an_independent_recomputation(stack, aws, sent):
    function_error, summary = invoke_aggregate(aws("lambda"), stack.function_names.aggregate)
    assert function_error is None, summary
    gold = gold_frame(aws("s3"), stack.gold_bucket)
    expected = expected_gold(pd.DataFrame(sent["valid"]))
    assert summary["gold_rows"] == len(expected) == len(gold)
    merged = expected.merge(gold, on=["pais", "indicador", "dt"], suffixes=("_expected", ""), validate="1:1")
    assert len(merged) == len(expected)
    assert (merged["count_expected"] == merged["count"]).all()
    for column in ("mean", "min", "max", "last_valor"):
        assert all(
            math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for a, b in zip(merged[f"{column}_expected"], merged[column])
        ), column
    both = merged["stddev_expected"].notna()
    assert (merged["stddev"].notna() == both).all()
    assert all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        for a, b in zip(merged.loc[both, "stddev_expected"], merged.loc[both, "stddev"])
    )
    assert (
        pd.to_datetime(merged["last_timestamp_expected"], utc=True)
        == pd.to_datetime(merged["last_timestamp"], utc=True)
    ).all()
    # One gold file per partition, never appended.
    assert gold.groupby(["indicador", "dt"])["_key"].nunique().eq(1).all()


def _latest_per_key(sent) -> pd.DataFrame:
    events = pd.DataFrame(sent["valid"]).drop_duplicates("event_id")
    events["ts"] = pd.to_datetime(events["timestamp"], utc=True, format="ISO8601")
    return events.sort_values(["ts", "event_id"]).groupby(["pais", "indicador"]).tail(1)


def test_after_the_aggregate_the_read_rule_shows_each_event_once(stack, aws, sent):
    # Copies the simulator's re-sent events left in separate files stay there until compaction (its
    # own run, once the dedupe horizon has passed: tests/unit/test_incremental_aggregate.py runs it
    # on a modelled clock); the read rule shows each event once meanwhile.
    files = silver_frame(aws("s3"), stack.silver_bucket)
    simulator_rows = files[files["fuente"] == "simulador"]
    assert set(simulator_rows["event_id"]) == {e["event_id"] for e in sent["valid"]}
    assert not simulator_rows["event_id"].duplicated().any()


def test_make_querys_views_show_the_lake_through_duckdb(stack, aws_env, sent):
    # `make query` (`lake query`) over the same buckets, through DuckDB's httpfs and the same endpoint setting.
    def sql(statement: str) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "lake_cli",  # `lake query`, with this interpreter
            "query",
            "--silver",
            stack.silver_bucket,
            "--gold",
            stack.gold_bucket,
            "--bronze",
            stack.bronze_bucket,
            "--csv",
            "--sql",
            statement,
        ]
        return run(command, aws_env).stdout.splitlines()[1:]

    ids = Counter(sql("select event_id from events where fuente = 'simulador'"))
    assert all(ids[e["event_id"]] == 1 for e in sent["valid"])
    latest = {
        tuple(line.split(","))
        for line in sql("select pais, indicador, event_id from latest where fuente = 'simulador'")
    }
    assert {(r.pais, r.indicador, r.event_id) for r in _latest_per_key(sent).itertuples()} <= latest
    assert int(sql("select count(*) from daily")[0]) >= len(expected_gold(pd.DataFrame(sent["valid"])))


def test_dynamodb_latest_value_is_the_last_event_per_key(stack, aws, sent):
    dynamodb = aws("dynamodb")
    latest = _latest_per_key(sent)
    for row in latest.itertuples():
        item = dynamodb.get_item(
            TableName=stack.table_name,
            Key=table_keys.key(table_keys.LATEST_PK, table_keys.latest_sk(row.pais, row.indicador)),
        )["Item"]
        assert float(item["valor"]["N"]) == pytest.approx(float(row.valor))
        assert item["event_id"]["S"] == row.event_id


def test_api_answers_match_the_lake(stack, aws, sent):
    # Reached the same way on every target (lake_cli/function_url.py): as is on the embedded emulator
    # and AWS (signed when the URL is AWS_IAM), through the endpoint with a Host header on LocalStack.
    api = resolve_for_function(stack.api_url, stack.function_names.api, aws("lambda"))

    def _get(path: str) -> tuple[int, dict, str]:
        return api.get_json(path)

    status, body, content_type = _get("health")
    assert status == 200 and content_type.startswith("application/json")
    status, body, _ = _get("indicadores")
    assert status == 200 and len(body["series"]) == len(_latest_per_key(sent))
    row = _latest_per_key(sent).iloc[0]
    status, body, _ = _get(f"indicadores/{row.pais}/{row.indicador}")
    assert status == 200
    assert body["latest"]["event_id"] == row.event_id
    assert body["latest"]["valor"] == pytest.approx(float(row.valor))
    day = pd.Timestamp(row.ts).strftime("%Y-%m-%d")
    events = pd.DataFrame(sent["valid"]).drop_duplicates("event_id")
    same_day = events[
        (events.pais == row.pais)
        & (events.indicador == row.indicador)
        & (pd.to_datetime(events.timestamp, utc=True, format="ISO8601").dt.strftime("%Y-%m-%d") == day)
    ]
    assert body["kpis"]["count"] == len(same_day)
    status, body, _ = _get(f"indicadores/{row.pais}")
    assert status == 200 and {s["indicador"] for s in body["series"]} == set(
        _latest_per_key(sent).query("pais == @row.pais")["indicador"]
    )
    assert _get("indicadores/XXX")[0] == 400
    assert _get("indicadores/ARG/NoExiste")[0] == 400
    assert _get("indicadores/ARG/PIB/extra")[0] == 400


def test_csv_upload_lands_in_silver(stack, aws):
    s3 = aws("s3")
    csv_path = ROOT / "datos" / "ejemplo_upload.csv"
    sample = pd.read_csv(csv_path, dtype=str)
    valid_rows = sample[
        sample["pais"].isin(["ARG", "BRA", "CHL", "MEX", "COL"])
        & pd.to_numeric(sample["valor"], errors="coerce").notna()
    ]
    s3.upload_file(str(csv_path), stack.bronze_bucket, f"{layout.UPLOADS_PREFIX}e2e/ejemplo_upload.csv")

    def csv_rows():
        frame = silver_frame(s3, stack.silver_bucket)
        return frame[frame["fuente"] == "carga_csv"] if len(frame) else None

    rows = wait_until(lambda: (f := csv_rows()) is not None and len(f) == len(valid_rows) and f, timeout=60 * SCALE)
    assert sorted(rows["valor"].astype(float)) == sorted(valid_rows["valor"].astype(float))
    rejected = wait_until(
        lambda: quarantined_records(s3, stack.bronze_bucket, layout.TRANSFORM_QUARANTINE_PREFIX), timeout=30 * SCALE
    )
    assert len(rejected) == len(sample) - len(valid_rows)
    assert all(r["reason"] for r in rejected)


# --- schema evolution: schema_version 1 and 2 side by side (docs/DESIGN.md, "Schema evolution") ----------

V2_FUENTE = "e2e-v2"
V2_INDICADOR = "Desempleo"


def _v2_event(pais: str, when: dt.datetime, valor: float, **fields) -> dict:
    defaults = {"schema_version": 2, "indicador": V2_INDICADOR, "fuente": V2_FUENTE}
    return economic_event(
        timestamp=when.isoformat(timespec="microseconds"), pais=pais, valor=valor, **{**defaults, **fields}
    )


def test_v1_and_v2_events_share_a_partition_from_stream_and_csv_to_gold_sql_and_the_api(stack, aws, aws_env, sent):
    # A past day (older than the dashboard's two weeks of history, so its pages are unchanged), where
    # version 1 and version 2 events land together from the stream and from a CSV upload; and one
    # version 2 event now, so that the stream path's LATEST item carries its unit.
    s3, api = aws("s3"), resolve_for_function(stack.api_url, stack.function_names.api, aws("lambda"))
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
    v1_col = _v2_event("COL", day.replace(hour=10), 10.1, schema_version=1)
    v2_col = _v2_event("COL", day.replace(hour=11), 10.2, unidad="%")
    v2_bra = _v2_event("BRA", day.replace(hour=11), 7.9)  # version 2 without a unit
    now_col = _v2_event("COL", dt.datetime.now(dt.UTC), 10.3, unidad="%")
    bad = {
        "v3": _v2_event("COL", day, 1.0, schema_version=3),
        "v1 with unidad": _v2_event("COL", day, 1.0, schema_version=1, unidad="%"),
        "unidad not a string": _v2_event("COL", day, 1.0, unidad=5),
    }
    stream = [v1_col, v2_col, v2_bra, now_col, *bad.values()]
    response = aws("kinesis").put_records(
        StreamName=stack.stream_name,
        Records=[{"Data": json.dumps(e).encode(), "PartitionKey": e["pais"]} for e in stream],
    )
    assert response["FailedRecordCount"] == 0
    csv_rows = [
        ("2", str(uuid.uuid4()), day.replace(hour=9).isoformat(), "MEX", "3.1", "%"),
        ("1", str(uuid.uuid4()), day.replace(hour=9, minute=30).isoformat(), "MEX", "3.2", ""),
        ("1", str(uuid.uuid4()), day.replace(hour=9).isoformat(), "CHL", "8.1", "%"),  # refused: v1 with a unit
        ("3", str(uuid.uuid4()), day.replace(hour=9).isoformat(), "CHL", "8.2", ""),  # refused: v3
    ]
    body = "schema_version,event_id,timestamp,indicador,pais,valor,fuente,unidad\n" + "".join(
        f"{v},{i},{t},{V2_INDICADOR},{p},{x},{V2_FUENTE},{u}\n" for v, i, t, p, x, u in csv_rows
    )
    s3.put_object(Bucket=stack.bronze_bucket, Key=f"{layout.UPLOADS_PREFIX}e2e/v2.csv", Body=body.encode())

    expected = {  # event_id -> (schema_version, unidad) in silver
        v1_col["event_id"]: (1, None),
        v2_col["event_id"]: (2, "%"),
        v2_bra["event_id"]: (2, None),
        now_col["event_id"]: (2, "%"),
        csv_rows[0][1]: (2, "%"),
        csv_rows[1][1]: (1, None),
    }

    def landed():
        frame = silver_frame(s3, stack.silver_bucket)
        rows = frame[frame["fuente"] == V2_FUENTE] if len(frame) else frame
        return len(rows) and set(rows["event_id"]) == set(expected) and frame

    frame = wait_until(landed, timeout=120 * SCALE, interval=1)
    rows = frame[frame["fuente"] == V2_FUENTE].set_index("event_id")
    got = {i: (int(r.schema_version), None if pd.isna(r.unidad) else r.unidad) for i, r in rows.iterrows()}
    assert got == expected
    # The simulator's events are version 1: no unit.
    assert frame.loc[frame["fuente"] == "simulador", "unidad"].isna().all()

    # Bad input: quarantined with its reason, by ingest (stream) and by transform (the CSV rows).
    def event_id_of(record: dict) -> str | None:
        """The event_id a quarantined record holds: in `raw` (ingest) or in `row` (transform)."""
        if isinstance(record.get("row"), dict):
            return record["row"].get("event_id")
        try:
            document = json.loads(record["raw"]) if record.get("raw_encoding") == "utf-8" else None
        except ValueError:
            return None
        return document.get("event_id") if isinstance(document, dict) else None

    def bad_reasons():
        found = {event_id_of(r): r["reason"] for r in quarantined_records(s3, stack.bronze_bucket)}
        wanted = [e["event_id"] for e in bad.values()] + [csv_rows[2][1], csv_rows[3][1]]
        return all(i in found for i in wanted) and [found[i] for i in wanted]

    not_in_v1 = "unidad is not allowed in schema_version 1: it needs schema_version 2"
    unsupported = "unsupported schema_version: 3 (accepted: 1, 2)"
    assert wait_until(bad_reasons, timeout=60 * SCALE) == [
        unsupported,
        not_in_v1,
        "unidad is not a string",
        not_in_v1,
        unsupported,
    ]

    # Gold, after the aggregate: the day's last event's unit.
    function_error, summary = invoke_aggregate(aws("lambda"), stack.function_names.aggregate)
    assert function_error is None, summary
    gold = gold_frame(s3, stack.gold_bucket)
    dt_text = day.date().isoformat()
    on_day = gold[(gold["indicador"] == V2_INDICADOR) & (gold["dt"] == dt_text)].set_index("pais")
    assert {p: (None if pd.isna(u) else u) for p, u in on_day["last_unidad"].items()} == {
        "COL": "%",
        "BRA": None,
        "MEX": None,  # its last event is the version 1 row
    }

    # The SQL views (make query) read the new column: null for version 1 events and older files.
    def sql(statement: str) -> list[str]:
        command = [sys.executable, "-m", "lake_cli", "query", "--silver", stack.silver_bucket, "--gold"]
        command += [stack.gold_bucket, "--csv", "--sql", statement]
        return run(command, aws_env).stdout.splitlines()[1:]

    sql_rows = sql(f"select event_id, schema_version, unidad from events where fuente = '{V2_FUENTE}'")
    assert {tuple(line.split(",")) for line in sql_rows} == {
        (i, str(version), unidad or "") for i, (version, unidad) in expected.items()
    }
    assert sql(
        f"select last_unidad from daily where pais = 'COL' and indicador = '{V2_INDICADOR}' and dt = '{dt_text}'"
    ) == ["%"]
    assert sql(f"select unidad from latest where pais = 'COL' and indicador = '{V2_INDICADOR}'") == ["%"]

    # The API: the latest value (written by the live path) and the KPIs carry the unit; v1 values null.
    def latest_is_now_col():
        status, body, _ = api.get_json(f"indicadores/COL/{V2_INDICADOR}")
        return status == 200 and body["latest"]["event_id"] == now_col["event_id"] and body

    assert wait_until(latest_is_now_col, timeout=60 * SCALE)["latest"]["unidad"] == "%"
    status, body, _ = api.get_json(f"indicadores/COL/{V2_INDICADOR}/diario?dias=366")
    assert status == 200
    assert {row["dt"]: row["last_unidad"] for row in body["days"]}[dt_text] == "%"
    status, body, _ = api.get_json("indicadores/ARG/PIB")
    assert status == 200 and body["latest"]["unidad"] is None  # the simulator's version 1 event


def test_an_event_resent_with_other_content_shows_its_first_sent_copy(stack, aws, aws_env):
    # The producer sends an event, then re-sends its event_id with another valor: every reader
    # shows the first (the read rule), and the aggregate counts it once.
    s3, kinesis = aws("s3"), aws("kinesis")
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=41)).replace(hour=12, minute=0, second=0, microsecond=0)
    original = _v2_event("ARG", day, 5.5, indicador="TasaInteres", fuente="e2e-first-sent", schema_version=1)
    copy = {**original, "valor": 99.0}
    event_id = original["event_id"]

    def files_holding(count: int):
        def check():
            files = silver_file_frame(s3, stack.silver_bucket)
            rows = files[files["event_id"] == event_id] if len(files) else files
            return len(rows) == count and rows

        return check

    kinesis.put_record(StreamName=stack.stream_name, Data=json.dumps(original).encode(), PartitionKey="ARG")
    wait_until(files_holding(1), timeout=120 * SCALE, interval=1)
    kinesis.put_record(StreamName=stack.stream_name, Data=json.dumps(copy).encode(), PartitionKey="ARG")
    rows = wait_until(files_holding(2), timeout=120 * SCALE, interval=1)
    assert sorted(rows["valor"]) == [5.5, 99.0] and rows["received_order"].notna().all()

    def shown() -> set:
        frame = silver_frame(s3, stack.silver_bucket)
        command = [sys.executable, "-m", "lake_cli", "query", "--silver", stack.silver_bucket, "--gold"]
        command += [stack.gold_bucket, "--csv", "--sql", f"select valor from events where event_id = '{event_id}'"]
        return {
            *frame.loc[frame["event_id"] == event_id, "valor"],
            *map(float, run(command, aws_env).stdout.split()[1:]),
        }

    assert shown() == {5.5}
    function_error, summary = invoke_aggregate(aws("lambda"), stack.function_names.aggregate)
    assert function_error is None, summary
    assert shown() == {5.5}
    gold = gold_frame(s3, stack.gold_bucket)
    row = gold[(gold["indicador"] == "TasaInteres") & (gold["dt"] == day.date().isoformat()) & (gold["pais"] == "ARG")]
    assert list(row["last_valor"]) == [5.5] and list(row["count"]) == [1]
