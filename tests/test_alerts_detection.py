"""The detector on generated data: weekly-seasonal series with noise and injected anomalies of known start and size.

The data comes from costlake.samples.daily_usage (the same generator as the demo and the benchmark); the series are
summed per service and sub account exactly as a monitor split by those dimensions sees them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from costlake.alerts.detection import HISTORY_DAYS, SENSITIVITIES, detect
from costlake.samples.daily_usage import DailyUsage, Injection, SeriesSpec, standard_series

START = date(2026, 1, 5)


def daily_totals(usage: DailyUsage) -> dict[tuple[str, str], dict[date, Decimal]]:
    table = usage.table().group_by(["ServiceName", "SubAccountId", "ChargePeriodStart"]).aggregate([("EffectiveCost", "sum")])
    out: dict[tuple[str, str], dict[date, Decimal]] = defaultdict(dict)
    for row in table.to_pylist():
        out[(row["ServiceName"], row["SubAccountId"])][row["ChargePeriodStart"].date()] = row["EffectiveCost_sum"]
    return out


def scan_all(usage: DailyUsage, scan_start: date, horizon: date, sensitivity: str = "medium") -> dict[tuple[str, str], list]:
    found = {}
    for key, values in daily_totals(usage).items():
        findings, _ = detect(values, first_day=usage.start, scan_start=scan_start, horizon=horizon, sensitivity=SENSITIVITIES[sensitivity])
        found[key] = findings
    return found


def injections(series: list[SeriesSpec], count: int, seed: int, days: int, sizes: tuple[float, float]) -> list[Injection]:
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(series), size=count, replace=False)
    out = []
    for index in chosen:
        spec = series[int(index)]
        start = START + timedelta(days=int(rng.integers(HISTORY_DAYS + 7, HISTORY_DAYS + 100)))
        out.append(Injection(spec.service, spec.sub_account, start, days, float(np.round(rng.uniform(*sizes), 2))))
    return out


SEEDS = [(11, 5, 21), (12, 6, 22), (13, 7, 23)]  # series, injections, noise


@pytest.mark.parametrize("seeds", SEEDS, ids=lambda seeds: f"seeds-{seeds[0]}")
@pytest.mark.parametrize(("days", "sizes"), [(7, (3.0, 8.0)), (1, (8.0, 12.0))], ids=["lasting-3-to-8-sigma", "one-day-8-to-12-sigma"])
def test_every_injected_anomaly_is_found_within_a_day_of_its_start(days: int, sizes: tuple[float, float], seeds: tuple[int, int, int]) -> None:
    """Lasting shifts from 3 sigmas, one-day spikes from 8 (docs/alerts.md: why a one-day 3-sigma spike cannot be
    told from noise at the false-positive rate below); 24 injected per data set, 3 data sets."""
    series = standard_series(48, seed=seeds[0])
    injected = injections(series, 24, seed=seeds[1], days=days, sizes=sizes)
    usage = DailyUsage(START, HISTORY_DAYS + 130, series, injected, seed=seeds[2])
    found = scan_all(usage, START + timedelta(days=HISTORY_DAYS), START + timedelta(days=HISTORY_DAYS + 129))
    misses = []
    for injection in injected:
        findings = found[(injection.service, injection.sub_account)]
        hit = [f for f in findings if abs((f.start - injection.start).days) <= 1]
        if not hit:
            misses.append((injection, [(f.start, f.last) for f in findings]))
        else:
            assert hit[0].direction == "increase"
            assert hit[0].impact > 0
    assert not misses, f"{len(misses)} of {len(injected)} injected anomalies not found within a day of their start: {misses}"


def test_anomaly_free_seasonal_data_raises_at_most_one_false_positive_per_100_series_months() -> None:
    """Three data sets of 200 series over 6 months (3,600 series-months), counted together: one data set alone
    holds about 12 series-months per allowed false positive, too few to tell a rate from luck."""
    months, false_positives, series_months = 6, 0, 0
    for series_seed, noise_seed in [(17, 23), (1, 2), (3, 4)]:
        series = standard_series(200, seed=series_seed)
        usage = DailyUsage(START, HISTORY_DAYS + 30 * months, series, seed=noise_seed)
        found = scan_all(usage, START + timedelta(days=HISTORY_DAYS), START + timedelta(days=HISTORY_DAYS + 30 * months - 1))
        false_positives += sum(len(findings) for findings in found.values())
        series_months += len(series) * months
    assert false_positives <= series_months / 100, f"{false_positives} false positives over {series_months} series-months"


def test_a_spike_and_a_dip_in_two_series_do_not_mask_each_other() -> None:
    """AWS's FAQ case: one account up, another down by as much; their sum is flat, each series is not."""
    up = SeriesSpec("Compute Engine", "project-a", 1000, noise=0.03)
    down = SeriesSpec("Compute Engine", "project-b", 1000, noise=0.03)
    when = START + timedelta(days=HISTORY_DAYS + 20)
    usage = DailyUsage(
        START, HISTORY_DAYS + 40, [up, down],
        [Injection("Compute Engine", "project-a", when, 5, 8), Injection("Compute Engine", "project-b", when, 5, -8)],
    )
    totals = daily_totals(usage)
    window = {"scan_start": START + timedelta(days=HISTORY_DAYS), "horizon": START + timedelta(days=HISTORY_DAYS + 39)}
    summed = {day: totals[("Compute Engine", "project-a")][day] + totals[("Compute Engine", "project-b")][day] for day in totals[("Compute Engine", "project-a")]}
    both = {"first_day": START, "sensitivity": SENSITIVITIES["medium"], "direction": "both", **window}
    assert detect(summed, **both)[0] == []  # the masking a single series would suffer
    (rise,), _ = detect(totals[("Compute Engine", "project-a")], **both)
    (fall,), _ = detect(totals[("Compute Engine", "project-b")], **both)
    assert (rise.direction, fall.direction) == ("increase", "decrease")
    assert abs((rise.start - when).days) <= 1 and abs((fall.start - when).days) <= 1, (rise.start, fall.start, when)


def test_too_little_history_scores_nothing() -> None:
    usage = DailyUsage(START, 13, [SeriesSpec("BigQuery", "p", 100)], [Injection("BigQuery", "p", START + timedelta(days=10), 3, 20)])
    values = daily_totals(usage)[("BigQuery", "p")]
    findings, scores = detect(values, first_day=START, scan_start=START, horizon=START + timedelta(days=12), sensitivity=SENSITIVITIES["high"])
    assert findings == [] and all(score.expected is None for score in scores)


def test_expected_values_follow_the_weekly_rhythm() -> None:
    usage = DailyUsage(START, HISTORY_DAYS + 14, [SeriesSpec("BigQuery", "p", 1000, noise=0.01)])
    values = daily_totals(usage)[("BigQuery", "p")]
    _, scores = detect(values, first_day=START, scan_start=START + timedelta(days=HISTORY_DAYS), horizon=START + timedelta(days=HISTORY_DAYS + 13),
                       sensitivity=SENSITIVITIES["medium"])
    weekend = [s for s in scores if s.day.weekday() >= 5]
    weekday = [s for s in scores if s.day.weekday() < 5]
    assert max(s.expected for s in weekend) < Decimal(700) < min(s.expected for s in weekday)  # type: ignore[operator]
    assert all(abs(s.actual - s.expected) < Decimal(60) for s in scores)  # type: ignore[operator]
