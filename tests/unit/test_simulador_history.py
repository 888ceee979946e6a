"""Simulated history (simulador.history): windows, the contract's time range, believable series."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline import contract, validation
from simulador import __main__ as cli
from simulador import generator, history
from simulador.generator import KIND_VALID, iter_records
from simulador.reference_data import ReferenceDataError, Series, load_reference_data

REFERENCE = load_reference_data()
NOW = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)
WINDOW = history.last_days(30, NOW)


def by_series_and_day(observations) -> dict[tuple[str, str], dict[date, list[float]]]:
    grouped: dict[tuple[str, str], dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    for pais, indicador, valor, timestamp in observations:
        grouped[(pais, indicador)][datetime.fromisoformat(timestamp).date()].append(valor)
    return grouped


def test_the_time_range_read_from_event_schema_json_is_the_pipelines():
    accepted = history.contract_timestamp_range()
    assert accepted.minimum == contract.TIMESTAMP_MIN
    assert accepted.clock_skew == contract.TIMESTAMP_CLOCK_SKEW


def test_an_unreadable_time_range_fails_loudly():
    with pytest.raises(ReferenceDataError, match="timestamp range"):
        history.contract_timestamp_range({"properties": {"timestamp": {"description": "any time"}}})


def test_the_time_range_is_read_from_plain_values_not_from_the_description():
    timestamp = {"description": "any time", "x-timestamp-min": "2000-01-01T01:00:00+01:00", "x-clock-skew-seconds": 90}
    accepted = history.contract_timestamp_range({"properties": {"timestamp": timestamp}})
    assert accepted.minimum == datetime(2000, 1, 1, tzinfo=UTC)
    assert accepted.clock_skew == timedelta(seconds=90)
    for bad in ({"x-timestamp-min": "2000-01-01T00:00:00"}, {"x-timestamp-min": "soon"}, {"x-clock-skew-seconds": "x"}):
        with pytest.raises(ReferenceDataError, match="timestamp"):
            history.contract_timestamp_range({"properties": {"timestamp": {**timestamp, **bad}}})


def test_event_schema_json_is_read_once():
    assert generator.load_event_schema() is generator.load_event_schema()


def test_last_days_are_whole_days_before_today():
    assert WINDOW.start == datetime(2026, 10, 23, tzinfo=UTC)
    assert WINDOW.end == datetime(2026, 11, 22, tzinfo=UTC)
    assert len(WINDOW.days()) == 30 and WINDOW.days()[-1] == date(2026, 11, 21)
    assert history.last_days(30, NOW + timedelta(hours=5)) == WINDOW  # reruns the same day repeat


def test_bounds_accept_days_and_instants():
    window = history.window_from_bounds("2026-01-01", "2026-01-31", NOW)
    assert (window.start, window.end) == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    window = history.window_from_bounds("2026-01-01T12:00:00-03:00", None, NOW)
    assert (window.start, window.end) == (datetime(2026, 1, 1, 15, tzinfo=UTC), NOW)
    with pytest.raises(ValueError, match="neither"):
        history.parse_bound("yesterday", end=False)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("1899-12-31", "1900-01-10", "before the contract's first"),
        ("2026-11-20", "2026-11-24", "after the contract's last"),
        ("2026-11-20T10:00:00", "2026-11-20T10:00:00", "empty"),
    ],
)
def test_windows_outside_the_contract_are_refused(start, end, message):
    with pytest.raises(ValueError, match=message):
        history.check_window(history.window_from_bounds(start, end, NOW), NOW)


def test_a_window_ending_within_the_clock_skew_is_accepted():
    history.check_window(history.window_from_bounds("2026-11-20", "2026-11-22", NOW), NOW)  # ends tomorrow 00:00


def test_same_seed_same_history_other_seed_other_history():
    first = list(history.iter_history(REFERENCE.series, 7, 2000, WINDOW))
    assert first == list(history.iter_history(REFERENCE.series, 7, 2000, WINDOW))
    assert first != list(history.iter_history(REFERENCE.series, 8, 2000, WINDOW))


def test_timestamps_are_ordered_spread_and_accepted_by_the_pipeline():
    observations = list(history.iter_history(REFERENCE.series, 42, 3000, WINDOW))
    instants = [datetime.fromisoformat(t) for *_, t in observations]
    assert instants == sorted(instants)
    assert WINDOW.start <= instants[0] and instants[-1] < WINDOW.end
    per_day = defaultdict(int)
    for instant in instants:
        per_day[instant.date()] += 1
    assert sorted(per_day) == WINDOW.days()
    assert max(per_day.values()) - min(per_day.values()) <= 2  # evenly spread
    # Every event passes the pipeline's own validation, as of now.
    for pais, indicador, valor, timestamp in observations[::50]:
        raw = json.dumps(
            {
                "event_id": "3f2b8a9e-6c1d-4e5f-9a7b-1c2d3e4f5a6b",
                "schema_version": 1,
                "timestamp": timestamp,
                "indicador": indicador,
                "pais": pais,
                "valor": valor,
                "fuente": "simulador",
            }
        ).encode()
        result = validation.validate_event(raw, now=NOW)
        assert result.reason is None, result


def test_every_series_gets_events_every_day():
    grouped = by_series_and_day(history.iter_history(REFERENCE.series, 42, 20 * 30 * 10, WINDOW))
    assert set(grouped) == {(s.pais, s.indicador) for s in REFERENCE.series}
    assert all(len(days) == 30 for days in grouped.values())


def test_daily_means_follow_the_daily_levels():
    days = WINDOW.days()
    grouped = by_series_and_day(history.iter_history(REFERENCE.series, 42, 20 * 30 * 60, WINDOW))
    for series in REFERENCE.series:
        levels = history.daily_levels(series, days, 42)
        shape = history.series_shape(series, 42)
        for day, level in zip(days, levels, strict=True):
            values = grouped[(series.pais, series.indicador)][day]
            typical = statistics.median(values)  # the median shrugs off the odd outlier
            assert abs(typical - level) < 4 * shape.noise / math.sqrt(len(values)) + 0.02


def test_levels_move_believably():
    """Each series changes from day to day, within its plausible range, with a weekly wave."""
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    for series in REFERENCE.series:
        levels = history.daily_levels(series, days, 42)
        assert all(series.minimo <= level <= series.maximo for level in levels)
        assert len(set(levels)) > 300  # not flat, and rarely stuck at a bound
        steps = [abs(b - a) for a, b in itertools.pairwise(levels)]
        # Day-to-day moves are of the series' own scale, not jumps across its whole range.
        assert statistics.median(steps) < 2 * series.volatilidad
    # A series with no randomness in the walk shows the waves and the trend exactly.
    flat = Series("ARG", "PIB", 0.0, 1.0, -1e6, 1e6)
    shape = history.series_shape(flat, 3)
    weekly = [history.daily_levels(flat, [d], 3)[0] for d in days[:7]]
    assert max(weekly) - min(weekly) > shape.weekly_amplitude * 0.5


def test_outliers_are_rare_but_present():
    series = REFERENCE.series
    days = WINDOW.days()
    levels = {(s.pais, s.indicador): history.daily_levels(s, days, 42) for s in series}
    vol = {(s.pais, s.indicador): s.volatilidad for s in series}
    index = {day: i for i, day in enumerate(days)}
    count, far = 40_000, 0
    for pais, indicador, valor, timestamp in history.iter_history(series, 42, count, WINDOW):
        level = levels[(pais, indicador)][index[datetime.fromisoformat(timestamp).date()]]
        if abs(valor - level) > 2.5 * vol[(pais, indicador)]:
            far += 1
    assert 0.5 * count / history.OUTLIER_EVERY < far < 2 * count / history.OUTLIER_EVERY


def test_iter_records_uses_the_history_for_valid_events_only():
    observations = history.iter_history(REFERENCE.series, 42, 500, WINDOW)
    records = list(
        iter_records(
            REFERENCE, count=500, seed=42, duplicate_ratio=0.02, malformed_ratio=0.02, observations=observations
        )
    )
    valid = [r.event for r in records if r.kind == KIND_VALID]
    assert len(valid) == 500
    assert all(WINDOW.start <= datetime.fromisoformat(e["timestamp"]) < WINDOW.end for e in valid)
    expected = list(history.iter_history(REFERENCE.series, 42, 500, WINDOW))
    assert [(e["pais"], e["indicador"], e["valor"], e["timestamp"]) for e in valid] == expected


def test_cli_refuses_a_window_in_the_future(capsys):
    args = cli.build_parser().parse_args(["send", "--stream", "s", "--from", "2026-01-01", "--to", "2999-01-01"])
    with pytest.raises(SystemExit):
        cli.history_window(args)
    assert "after the contract's last accepted timestamp" in capsys.readouterr().err
    args = cli.build_parser().parse_args(["send", "--stream", "s", "--days", "3", "--from", "2026-01-01"])
    with pytest.raises(SystemExit):
        cli.history_window(args)
    args = cli.build_parser().parse_args(["send", "--stream", "s", "--days", "3"])
    window = cli.history_window(args)
    assert window is not None and len(window.days()) == 3
    assert cli.history_window(cli.build_parser().parse_args(["send", "--stream", "s"])) is None
