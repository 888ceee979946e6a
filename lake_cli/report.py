"""`make report`: build/report.png, the lake at a glance (matplotlib, Agg backend, no display needed).

Top: gold's daily KPIs per indicador and pais over time (view `daily`: the daily mean as a line,
min..max as a band). Bottom: pipeline health, each panel saying where its numbers come from:
- events per day: silver through the read rule (view `events`, by event day) beside the records
  bronze's stream objects hold (view `bronze_stream`, copies included);
- quarantine: bronze `quarantine/ingest/` and `quarantine/transform/` records by reason, and their
  share of everything that reached bronze by the stream;
- duplicates dropped per day: bronze stream records minus distinct event_ids, the copies the read
  rule (and compaction) reduce to one.

Everything is read with DuckDB through lake_cli.lake_sql, so it works on the emulator and on AWS alike.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, never a window
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

from lake_cli import lake_sql
from lake_cli.terraform_outputs import StackLocation
from pipeline import layout
from pipeline.contract import INDICADORES

DEFAULT_OUTPUT = Path("build/report.png")
FIGURE_INCHES = (18, 12)
DPI = 100  # 1800 x 1200 pixels
PAIS_COLORS = {"ARG": "#4c78a8", "BRA": "#54a24b", "CHL": "#e45756", "MEX": "#f58518", "COL": "#b279a2"}
QUARANTINE_REASONS_SHOWN = 8


@dataclass
class ReportData:
    daily: pd.DataFrame  # pais, indicador, dt, mean, min, max, count
    silver_per_day: pd.DataFrame  # dt, events
    bronze_per_day: pd.DataFrame  # dt, records, unique_events (by event day)
    quarantine: pd.DataFrame  # stage, reason, records
    has_bronze: bool
    source: str

    @property
    def quarantined(self) -> int:
        return int(self.quarantine["records"].sum()) if len(self.quarantine) else 0

    @property
    def bronze_records(self) -> int:
        return int(self.bronze_per_day["records"].sum()) if len(self.bronze_per_day) else 0

    @property
    def duplicates_dropped(self) -> int:
        if not len(self.bronze_per_day):
            return 0
        return int((self.bronze_per_day["records"] - self.bronze_per_day["unique_events"]).sum())

    @property
    def quarantined_share(self) -> float | None:
        total = self.bronze_records + self.quarantined
        return self.quarantined / total if total else None

    @property
    def days(self) -> int:
        return int(self.daily["dt"].nunique()) if len(self.daily) else 0


def collect(con: duckdb.DuckDBPyConnection, lake: lake_sql.Lake) -> ReportData:
    """The report's numbers, from the views of lake_cli.lake_sql."""
    daily = con.sql("select pais, indicador, dt, mean, min, max, count from daily order by indicador, pais, dt").df()
    silver_per_day = con.sql("select dt, count(*) as events from events group by dt order by dt").df()
    if lake.bronze:
        bronze_per_day = con.sql(
            "select cast(timestamp as date) as dt, count(*) as records, count(distinct event_id) as unique_events "
            "from bronze_stream group by 1 order by 1"
        ).df()
        quarantine = con.sql(
            "select stage, reason, count(*) as records from quarantine "
            "group by all order by records desc, stage, reason"
        ).df()
    else:
        bronze_per_day = pd.DataFrame({"dt": [], "records": [], "unique_events": []})
        quarantine = pd.DataFrame({"stage": [], "reason": [], "records": []})
    return ReportData(daily, silver_per_day, bronze_per_day, quarantine, bool(lake.bronze), ", ".join(lake.locations))


def _dates(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column)


def _day_span(data: ReportData) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    days = (
        pd.concat(
            [_dates(frame["dt"]) for frame in (data.daily, data.silver_per_day, data.bronze_per_day) if len(frame)],
            ignore_index=True,
        )
        if data.days or len(data.silver_per_day)
        else None
    )
    return (days.min(), days.max()) if days is not None and len(days) else None


def _day_axis(ax, span: tuple[pd.Timestamp, pd.Timestamp] | None, max_ticks: int = 10) -> None:
    """One tick per day (or every few days for long histories), the same range on every panel."""
    if span is None:
        return
    first, last = span
    ndays = (last - first).days + 1
    ax.set_xlim(first - pd.Timedelta(hours=14), last + pd.Timedelta(hours=14))
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, math.ceil(ndays / max_ticks))))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#888888")
    ax.set_xticks([])
    ax.set_yticks([])


def _nothing_to_draw(ax, data: ReportData, rows: pd.DataFrame, empty_text: str) -> bool:
    """A bronze panel without bronze, or without rows: says so inside the panel and returns True."""
    if not data.has_bronze:
        _no_data(ax, "no bronze location given")
        return True
    if rows.empty:
        _no_data(ax, empty_text)
        return True
    return False


def _kpi_panel(ax, daily: pd.DataFrame, indicador: str, span) -> None:
    rows = daily[daily["indicador"] == indicador]
    ax.set_title(f"{indicador}: daily mean (line), min..max (band)", fontsize=11)
    if rows.empty:
        _no_data(ax, "no gold rows yet (run the aggregate)")
        return
    for pais, series in rows.groupby("pais", sort=True):
        x = _dates(series["dt"])
        color = PAIS_COLORS.get(pais)
        ax.plot(x, series["mean"], marker="o", markersize=3, linewidth=1.6, label=pais, color=color)
        ax.fill_between(x, series["min"], series["max"], alpha=0.12, color=color, linewidth=0)
    means = rows["mean"].to_numpy()
    if (rows[["mean", "min", "max"]].to_numpy() > 0).all() and means.max() / means.min() > 8:
        ax.set_yscale("log")  # Argentina's inflation next to Chile's: both stay readable
        ax.set_title(f"{indicador}: daily mean (line), min..max (band), log scale", fontsize=11)
    ax.set_ylabel("%")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=5, loc="upper left", bbox_to_anchor=(0, -0.08), frameon=False)
    _day_axis(ax, span)


def _events_panel(ax, data: ReportData, span) -> None:
    ax.set_title("Events per day (event time)", fontsize=11)
    if data.silver_per_day.empty and data.bronze_per_day.empty:
        _no_data(ax, "no events in silver yet")
        return
    if not data.silver_per_day.empty:
        ax.bar(
            _dates(data.silver_per_day["dt"]),
            data.silver_per_day["events"],
            width=0.8,
            color="#4c78a8",
            label="silver, once each (view events)",
        )
    if not data.bronze_per_day.empty:
        ax.plot(
            _dates(data.bronze_per_day["dt"]),
            data.bronze_per_day["records"],
            color="#e45756",
            marker="o",
            markersize=3,
            label="bronze stream records (copies included)",
        )
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # room for the legend
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    _day_axis(ax, span, max_ticks=5)
    ax.set_xlabel(
        f"source: silver {layout.SILVER_EVENTS_PREFIX} (read rule), bronze {layout.STREAM_PREFIX}", fontsize=8
    )


def _quarantine_panel(ax, data: ReportData) -> None:
    share = data.quarantined_share
    share_text = f"{share:.2%} of records" if share is not None else "no records yet"
    ax.set_title(f"Quarantined: {data.quarantined} ({share_text})", fontsize=11)
    if not _nothing_to_draw(ax, data, data.quarantine, "nothing quarantined"):
        top = data.quarantine.head(QUARANTINE_REASONS_SHOWN).iloc[::-1]
        if len(data.quarantine) > QUARANTINE_REASONS_SHOWN:
            ax.text(
                0.98,
                0.02,
                f"top {QUARANTINE_REASONS_SHOWN} of {len(data.quarantine)} reasons",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=8,
                color="#555555",
            )
        labels = [f"{stage}: {reason[:48]}" for stage, reason in zip(top["stage"], top["reason"], strict=True)]
        ax.barh(labels, top["records"], color="#f58518", height=0.6)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(True, axis="x", alpha=0.3)
    if data.has_bronze:  # "nothing quarantined" keeps its source line too
        ax.set_xlabel(
            f"source: bronze {layout.INGEST_QUARANTINE_PREFIX} + {layout.TRANSFORM_QUARANTINE_PREFIX}, by reason;\n"
            "share = quarantined / (bronze stream records + quarantined)",
            fontsize=8,
        )


def _duplicates_panel(ax, data: ReportData, span) -> None:
    ax.set_title(f"Duplicates dropped: {data.duplicates_dropped}", fontsize=11)
    if _nothing_to_draw(ax, data, data.bronze_per_day, "no stream records yet"):
        return
    dropped = data.bronze_per_day["records"] - data.bronze_per_day["unique_events"]
    ax.bar(_dates(data.bronze_per_day["dt"]), dropped, width=0.8, color="#b279a2")
    ax.grid(True, axis="y", alpha=0.3)
    _day_axis(ax, span, max_ticks=5)
    ax.set_xlabel(
        f"source: bronze {layout.STREAM_PREFIX} records - distinct event_ids, by event day\n"
        "(the read rule and compaction keep one copy)",
        fontsize=8,
    )


def render(data: ReportData, output: Path, *, generated_at: datetime | None = None) -> Path:
    generated_at = generated_at or datetime.now(UTC)
    fig = plt.figure(figsize=FIGURE_INCHES, dpi=DPI)
    grid = fig.add_gridspec(3, 6, height_ratios=[1, 1, 0.9], hspace=0.55, wspace=0.7)
    span = _day_span(data)
    for index, indicador in enumerate(INDICADORES):
        row, col = divmod(index, 2)
        _kpi_panel(fig.add_subplot(grid[row, col * 3 : (col + 1) * 3]), data.daily, indicador, span)
    _events_panel(fig.add_subplot(grid[2, 0:2]), data, span)
    _quarantine_panel(fig.add_subplot(grid[2, 2:4]), data)
    _duplicates_panel(fig.add_subplot(grid[2, 4:6]), data, span)
    fig.suptitle(
        f"Economic-events lake: gold KPIs ({data.days} days) and pipeline health", fontsize=15, fontweight="bold"
    )
    fig.text(
        0.5,
        0.935,
        f"KPIs: gold {layout.GOLD_KPIS_PREFIX} (view daily).  Generated "
        f"{generated_at:%Y-%m-%d %H:%M} UTC from {data.source} with DuckDB (lake_cli/lake_sql.py).",
        ha="center",
        fontsize=9,
        color="#555555",
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=DPI)
    plt.close(fig)
    return output


def main(argv: list[str] | None = None, stack: StackLocation | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lake report", description=__doc__.split("\n")[0])
    lake_sql.add_lake_arguments(parser)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"PNG to write (default: {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    try:
        lake = lake_sql.lake_from_args(args, stack)
        con = lake_sql.connect(lake)
        data = collect(con, lake)
    except (lake_sql.LakeSqlError, ValueError, duckdb.Error) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    path = render(data, args.output)
    share = data.quarantined_share
    print(
        f"report written to {path}: {len(data.daily)} gold rows over {data.days} days, "
        f"{int(data.silver_per_day['events'].sum()) if len(data.silver_per_day) else 0} events in silver, "
        f"{data.quarantined} quarantined ({'-' if share is None else f'{share:.2%}'}), "
        f"{data.duplicates_dropped} duplicates dropped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
