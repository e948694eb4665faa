"""Anomaly monitors: scan each series, keep one growing record per anomaly, explain it, and say when to notify.

Routine evaluations re-score the last SCAN_DAYS of every series (late data and growing anomalies are seen again);
a preview (backtest) scores a whole window without storing anything. Series are detected one by one, so a spike in
one and a dip in another never cancel out.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from costlake.alerts.detection import HISTORY_DAYS, SENSITIVITIES, DayScore, Finding, SeriesInput, detect_many
from costlake.alerts.root_cause import Subject, TagKeys, explain_all
from costlake.alerts.series import Series, SourceState, daily_series, horizon_of, usage_filters
from costlake.alerts.specs import MonitorSpec
from costlake.catalog.models import Anomaly, AnomalyMonitor, new_id
from costlake.query.engine import CostReader
from costlake.query.model import Filter
from costlake.query.scope import Scope
from costlake.text import money_text

SCAN_DAYS = 28
CHART_DAYS = 14  # days before an anomaly kept for its chart
BAND_SIGMAS = 3
NOTIFY_RECENT = timedelta(days=3)  # an anomaly that ended longer ago than this is recorded, not announced
DEFAULT_MONITOR = MonitorSpec(
    name="All services by sub account", split_by=["ServiceName", "SubAccountId"], min_daily_impact=Decimal(10), min_percent=Decimal(10)
)


def spec_of(monitor: AnomalyMonitor) -> MonitorSpec:
    return MonitorSpec.model_validate(
        {
            "name": monitor.name, "filters": monitor.filters, "split_by": monitor.split_by, "metric": monitor.metric,
            "sensitivity": monitor.sensitivity, "direction": monitor.direction, "min_percent": monitor.min_percent,
            "min_daily_impact": monitor.min_daily_impact.get("*", monitor.min_daily_impact),
            "include_non_usage": monitor.include_non_usage, "channels": monitor.channels,
        }
    )


def monitor_fields(spec: MonitorSpec) -> dict[str, Any]:
    impact = spec.min_daily_impact
    return {
        "name": spec.name,
        "filters": [f.model_dump() for f in spec.filters],
        "split_by": spec.split_by,
        "metric": spec.metric,
        "sensitivity": spec.sensitivity,
        "direction": spec.direction,
        "min_daily_impact": {c: str(v) for c, v in impact.items()} if isinstance(impact, dict) else {"*": str(impact)},
        "min_percent": spec.min_percent,
        "include_non_usage": spec.include_non_usage,
        "channels": spec.channels,
    }


def large_enough(spec: MonitorSpec, finding: Finding, currency: str) -> bool:
    """The monitor's floors, on the finding's average day: an absolute amount and a percent of expected."""
    days = Decimal(len(finding.days))
    impact = abs(finding.impact) / days
    if impact < spec.min_impact(currency):
        return False
    expected = abs(finding.expected) / days
    return expected == 0 or impact * 100 / expected >= spec.min_percent


@dataclass
class ScannedSeries:
    series: Series
    findings: list[Finding]
    scores: list[DayScore]
    horizon: date | None
    incomplete: list[str] = field(default_factory=list)


def scan(
    reader: CostReader, scope: Scope, spec: MonitorSpec, states: dict[str, SourceState], *,
    start: date | None, end: date, quiet: dict[tuple[str, str], list[tuple[date, date]]] | None = None,
) -> Iterator[ScannedSeries]:
    """Detect over days [start, end) of every series, end capped by what each series' sources delivered in full.
    Without a start (routine evaluations), each series is scanned over its own last SCAN_DAYS."""
    # Routine scans read back from the most lagging source, so every series gets its history.
    lagging = min((s.complete_through for s in states.values() if s.complete_through), default=end - timedelta(days=1))
    earliest = start or min(lagging + timedelta(days=1), end) - timedelta(days=SCAN_DAYS)
    history_start = earliest - timedelta(days=HISTORY_DAYS + 7)
    filters: list[Filter] = usage_filters(spec.filters, spec.include_non_usage)
    all_series = daily_series(reader, scope, filters=filters, split_by=spec.split_by, metric=spec.metric, start=history_start, end=end)
    inputs, horizons = [], []
    for entry in all_series:
        horizon, reasons = horizon_of(entry, states)
        horizon = min(horizon, end - timedelta(days=1)) if horizon else end - timedelta(days=1)
        scan_start = start or horizon - timedelta(days=SCAN_DAYS - 1)
        inputs.append(SeriesInput(entry.values, entry.first_day, scan_start, horizon, (quiet or {}).get((entry.key, entry.currency), [])))
        horizons.append((horizon, reasons))
    results = detect_many(inputs, SENSITIVITIES[spec.sensitivity], spec.direction, all_scores=start is not None) if inputs else []
    for entry, (horizon, reasons), (findings, scores) in zip(all_series, horizons, results):
        kept = [f for f in findings if large_enough(spec, f, entry.currency)]
        yield ScannedSeries(entry, kept, scores, horizon, reasons)


def anomaly_days(scores: Sequence[DayScore], start: date, last: date) -> list[dict[str, Any]]:
    """The chart of an anomaly: CHART_DAYS before it, then its days, with the expected band."""
    out = []
    for score in scores:
        if start - timedelta(days=CHART_DAYS) <= score.day <= last:
            band = score.band(BAND_SIGMAS)
            out.append(
                {
                    "date": score.day.isoformat(),
                    "actual": money_text(score.actual),
                    "expected": money_text(score.expected) if score.expected is not None else None,
                    "lower": money_text(band[0]) if band else None,
                    "upper": money_text(band[1]) if band else None,
                }
            )
    return out


def finding_view(monitor_id: str | None, entry: Series, finding: Finding, scores: Sequence[DayScore]) -> dict[str, Any]:
    """A finding as the API shows an anomaly (used by previews; stored anomalies add id, status and events)."""
    return {
        "monitor_id": monitor_id,
        "series": entry.series,
        "currency": entry.currency,
        "direction": finding.direction,
        "start_date": finding.start.isoformat(),
        "last_date": finding.last.isoformat(),
        "alarm_date": finding.alarm.isoformat(),
        "days_active": (finding.last - finding.start).days + 1,
        "active": finding.active,
        "expected": money_text(finding.expected),
        "actual": money_text(finding.actual),
        "impact": money_text(finding.impact),
        "peak_sigma": str(round(Decimal(repr(finding.peak_z)), 2)),
        "daily": anomaly_days(scores, finding.start, finding.last),
    }


def continues(anomaly: Anomaly, finding: Finding) -> bool:
    """Whether a finding is that stored anomaly again: same direction, overlapping or adjacent days."""
    return (
        anomaly.direction == finding.direction
        and anomaly.start_date - timedelta(days=1) <= finding.last
        and finding.start <= anomaly.last_date + timedelta(days=1)
    )


@dataclass
class Outcome:
    anomaly: Anomaly
    created: bool
    changed: bool  # created, or its days or amounts moved: explain it again


def upsert(
    monitor: AnomalyMonitor, stored: Sequence[Anomaly], scanned: ScannedSeries, finding: Finding, now: datetime
) -> Outcome:
    entry = scanned.series
    anomaly = next((a for a in stored if continues(a, finding)), None)
    fields = {
        "last_date": finding.last,
        "expected": finding.expected,
        "actual": finding.actual,
        "impact": finding.impact,
        "peak_sigma": round(Decimal(repr(finding.peak_z)), 2),
        "active": finding.active,
        "data_incomplete": bool(scanned.incomplete),
        "daily": anomaly_days(scanned.scores, finding.start, finding.last),
    }
    if anomaly is None:
        anomaly = Anomaly(
            id=new_id(), tenant_id=monitor.tenant_id, monitor_id=monitor.id, series=entry.series, series_hash=entry.key,
            currency=entry.currency, direction=finding.direction, start_date=finding.start, alarm_date=finding.alarm,
            status="open", root_causes=[], drivers={}, notified_level=-1, created_at=now,
            events=[{"type": "opened", "at": now.isoformat(), "impact": money_text(finding.impact)}], **fields,
        )
        return Outcome(anomaly, True, True)
    changed = anomaly.last_date != finding.last or anomaly.impact != finding.impact
    for name, value in fields.items():
        setattr(anomaly, name, value)
    anomaly.last_date = max(anomaly.last_date, finding.last)
    anomaly.updated_at = now
    return Outcome(anomaly, False, changed)


def notification_due(anomaly: Anomaly, horizon: date | None, now: datetime) -> tuple[str, int] | None:
    """("anomaly.opened", 0) the first time; ("anomaly.grew", k) when the impact reached 2**k times the impact
    first announced; None when nothing is due (already told, silenced, or long over)."""
    if anomaly.status in ("acknowledged", "resolved"):
        return None
    if anomaly.status == "snoozed" and anomaly.snoozed_until and anomaly.snoozed_until > now:
        return None
    if horizon is not None and not anomaly.active and horizon - anomaly.last_date > NOTIFY_RECENT:
        return None
    if anomaly.notified_level < 0:
        return "anomaly.opened", 0
    first = Decimal(anomaly.events[0]["impact"]) if anomaly.events else Decimal(0)
    if first == 0 or anomaly.impact / first <= 0:
        return None
    level = math.floor(math.log2(float(anomaly.impact / first)))
    return ("anomaly.grew", level) if level > anomaly.notified_level else None


def explain_anomalies(reader: CostReader, scope: Scope, spec: MonitorSpec, anomalies: Sequence[Anomaly], tag_keys: TagKeys) -> None:
    """Set the root causes and drivers of a monitor's anomalies (a few queries for all of them)."""
    subjects = [Subject(a.series, a.currency, a.start_date, a.last_date, a.direction) for a in anomalies]
    explained = explain_all(
        reader, scope, filters=usage_filters(spec.filters, spec.include_non_usage), split_by=spec.split_by, metric=spec.metric,
        subjects=subjects, tag_keys=tag_keys,
    )
    for anomaly, causes in zip(anomalies, explained):
        anomaly.root_causes = [
            {**cause, "delta": money_text(cause["delta"]), "share": None if cause["share"] is None else str(cause["share"])}
            for cause in causes.causes
        ]
        anomaly.drivers = causes.drivers


def quiet_ranges(stored: Sequence[Anomaly]) -> dict[tuple[str, str], list[tuple[date, date]]]:
    out: dict[tuple[str, str], list[tuple[date, date]]] = {}
    for anomaly in stored:
        out.setdefault((anomaly.series_hash, anomaly.currency), []).append((anomaly.start_date, anomaly.last_date))
    return out


def series_label(series: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in series.items()) or "all costs"


def anomaly_notice(anomaly: Anomaly, monitor: AnomalyMonitor, kind: str) -> dict[str, Any]:
    """What a message about an anomaly says (costlake.notify renders it for each channel)."""
    word = "up" if anomaly.direction == "increase" else "down"
    days = (anomaly.last_date - anomaly.start_date).days + 1
    top = anomaly.root_causes[0] if anomaly.root_causes else None
    summary = (
        f"{series_label(anomaly.series)} is {word} since {anomaly.start_date.isoformat()}: {money_text(anomaly.impact)} "
        f"{anomaly.currency} over {days} day(s) against {money_text(anomaly.expected)} expected."
    )
    if top:
        summary += f" Largest driver: {top['dimension']} {top['value']} ({top['delta']} {anomaly.currency})."
    facts = [
        ("Monitor", monitor.name), ("Impact", f"{money_text(anomaly.impact)} {anomaly.currency}"),
        ("Actual", f"{money_text(anomaly.actual)} {anomaly.currency}"), ("Expected", f"{money_text(anomaly.expected)} {anomaly.currency}"),
        ("Since", anomaly.start_date.isoformat()), ("Days", str(days)),
    ]
    if anomaly.data_incomplete:
        facts.append(("Data", "incomplete: a source of this series is syncing or failing"))
    payload = {
        "anomaly_id": anomaly.id, "monitor_id": monitor.id, "monitor": monitor.name, "series": anomaly.series,
        "currency": anomaly.currency, "direction": anomaly.direction, "start_date": anomaly.start_date.isoformat(),
        "last_date": anomaly.last_date.isoformat(), "expected": money_text(anomaly.expected), "actual": money_text(anomaly.actual),
        "impact": money_text(anomaly.impact), "root_causes": anomaly.root_causes, "drivers": anomaly.drivers,
    }
    verb = "Anomaly" if kind == "anomaly.opened" else "Anomaly grew"
    return {
        "title": f"{verb}: {series_label(anomaly.series)} {'+' if anomaly.impact >= 0 else ''}{money_text(anomaly.impact)} {anomaly.currency}",
        "summary": summary, "facts": facts, "path": f"/anomalies/{anomaly.id}", "payload": payload,
    }


