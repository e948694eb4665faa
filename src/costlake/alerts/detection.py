"""Anomaly detection on one daily cost series: a robust weekly-seasonal baseline and a one-sided CUSUM.

Why this shape (docs/alerts.md has the long form):
- The baseline is medians, not means: past spikes do not drag the expected value.
- expected(t) = level + weekday offset. Offsets are the per-weekday medians minus the overall median of the last
  8 weeks; the level is the median of the last 14 deseasonalised days, so trends and older level shifts are followed.
- The noise sigma comes from same-weekday differences a week apart (their RMS without the largest eighth): free of the
  weekly pattern without estimating it, hardly touched by a trend, and widened by the baseline's own uncertainty.
- CUSUM accumulates evidence over consecutive days: a large spike fires on its first day, a lasting shift of three
  noise sigmas after two to four days, and the finding is dated back to its most likely first day (the change
  point of a step of unknown size). Requiring evidence over days is what keeps false positives rare.
- Days inside a finding (its first EXCLUDE_DAYS) and sustained suspect runs are kept out of the baselines, found
  in up to PASSES passes; after EXCLUDE_DAYS a lasting change becomes the new normal and the finding ends.

The statistics run in binary floating point (numpy): they are estimates. Money leaves as decimals: actual amounts
are the exact sums the store holds, expected amounts are rounded to cents (`to_money`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

import numpy as np

MIN_HISTORY_DAYS = 14
WEEKS = 8  # of baseline history
HISTORY_DAYS = 7 * WEEKS
LEVEL_DAYS = 28
TRIM_EFFICIENCY = 1.1  # variance of a 1/8-trimmed mean relative to the plain mean, on normal noise
EXCLUDE_DAYS = 14
EXIT_Z = 1.0  # a finding stays active while its days stay this far out; it ends after END_AFTER quiet days
END_AFTER = 2
BACKDATE_DAYS = 7
PASSES = 3
SUSPECT_RUN = 3  # a run of the CUSUM this many days long leaves the history of the next pass
BATCH_SERIES = 256  # series scored together; bounds memory on year-long previews
MIN_RELATIVE_SIGMA = 0.01  # a perfectly flat series still gets a band of 1 % of its level
MIN_SIGMA = 0.01
TRIMMED_RMS_TO_SIGMA = 1.310  # makes it unbiased for normal noise over 49 differences (measured)
CENT = Decimal("0.01")

Direction = Literal["increase", "decrease", "both"]
Side = Literal["increase", "decrease"]


@dataclass(frozen=True)
class Sensitivity:
    """CUSUM parameters in noise sigmas: `slack` is taken off each day's score; an alarm needs `threshold`."""

    slack: float
    threshold: float


SENSITIVITIES: dict[str, Sensitivity] = {
    "low": Sensitivity(slack=1.5, threshold=5.0),
    "medium": Sensitivity(slack=1.5, threshold=3.5),
    "high": Sensitivity(slack=1.5, threshold=2.5),
}


def to_money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(CENT)


@dataclass
class DayScore:
    day: date
    actual: Decimal
    expected: Decimal | None = None
    sigma: float | None = None  # None: not enough history to score this day

    @property
    def z(self) -> float | None:
        if self.expected is None or self.sigma is None:
            return None
        return float(self.actual - self.expected) / self.sigma

    def band(self, width: float) -> tuple[Decimal, Decimal] | None:
        """expected ± width·sigma, for charts."""
        if self.expected is None or self.sigma is None:
            return None
        half = to_money(width * self.sigma)
        return self.expected - half, self.expected + half


@dataclass
class Finding:
    direction: Side
    start: date
    last: date
    alarm: date  # the first day the evidence was enough
    days: list[DayScore] = field(default_factory=list)  # start..last
    active: bool = True  # False once the series came back

    @property
    def actual(self) -> Decimal:
        return sum((d.actual for d in self.days), Decimal(0))

    @property
    def expected(self) -> Decimal:
        return sum((d.expected or Decimal(0) for d in self.days), Decimal(0))

    @property
    def impact(self) -> Decimal:
        return self.actual - self.expected

    @property
    def peak_z(self) -> float:
        sign = 1 if self.direction == "increase" else -1
        return max((sign * (d.z or 0.0) for d in self.days), default=0.0)


def window_stats(windows: np.ndarray, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected value and sigma for each row of `windows` (the HISTORY_DAYS days before a day, NaN where a day is
    not history; column c is day t-56+c, whose weekday is t's when c % 7 == 0). `age` is how many days the series
    existed before that day. NaN where the history is too short."""
    count = len(windows)
    expected = np.full(count, np.nan)
    sigma = np.full(count, np.nan)
    enough = (np.count_nonzero(~np.isnan(windows), axis=1) >= MIN_HISTORY_DAYS) & (age >= MIN_HISTORY_DAYS)
    if not enough.any():
        return expected, sigma
    windows = windows[enough]
    rows = len(windows)
    with np.errstate(all="ignore"):
        weekly = windows.reshape(rows, WEEKS, 7)
        overall = trimmed_mean(windows)
        by_weekday = trimmed_mean(weekly.transpose(0, 2, 1).reshape(rows * 7, WEEKS)).reshape(rows, 7)
        offsets = np.where(np.isnan(by_weekday), 0.0, by_weekday - overall[:, None])
        deseasoned = (weekly - offsets[:, None, :]).reshape(rows, HISTORY_DAYS)
        recent = deseasoned[:, -LEVEL_DAYS:]
        level = trimmed_mean(recent)
        level = np.where(np.isnan(level), overall, level)
        # Same-weekday differences: free of the weekly pattern without estimating it, and nearly free of trends.
        spread = trimmed_rms(np.abs(windows[:, 7:] - windows[:, :-7]))
        # The estimate itself is uncertain: widen sigma by the variance of the weekday offset and of the level.
        same_weekday = np.count_nonzero(~np.isnan(weekly[:, :, 0]), axis=1)
        level_days = np.count_nonzero(~np.isnan(recent), axis=1)
        widen = np.sqrt(1 + TRIM_EFFICIENCY / np.maximum(same_weekday, 1) + TRIM_EFFICIENCY / np.maximum(level_days, 1))
    guess = level + offsets[:, 0]
    expected[enough] = guess
    sigma[enough] = np.maximum(np.maximum(spread / np.sqrt(2) * widen, MIN_RELATIVE_SIGMA * np.abs(guess)), MIN_SIGMA)
    return expected, sigma


def trimmed_rms(rows: np.ndarray) -> np.ndarray:
    """Per row: a normal sigma from non-negative values, without their highest eighth (robust to a few spikes, yet
    twice as precise as a median absolute deviation). 0 where a row has no values."""
    ordered = np.sort(rows, axis=1)
    count = np.count_nonzero(~np.isnan(rows), axis=1)
    keep = np.arange(rows.shape[1])[None, :] < (count - count // 8)[:, None]
    kept = np.maximum(np.count_nonzero(keep, axis=1), 1)
    mean_square = (np.where(keep, ordered, 0.0) ** 2).sum(axis=1) / kept
    return np.sqrt(mean_square) * TRIMMED_RMS_TO_SIGMA


def trimmed_mean(rows: np.ndarray) -> np.ndarray:
    """Per row: the mean of the non-NaN values without the lowest and highest eighth (NaN when a row is empty).

    As robust to a stray spike as a median for the window sizes used here, and more precise on normal noise."""
    ordered = np.sort(rows, axis=1)  # NaN sorts last
    count = np.count_nonzero(~np.isnan(rows), axis=1)
    cut = count // 8
    position = np.arange(rows.shape[1])[None, :]
    keep = (position >= cut[:, None]) & (position < (count - cut)[:, None])
    kept = np.count_nonzero(keep, axis=1)
    total = np.where(keep, ordered, 0.0).sum(axis=1)
    return np.where(kept > 0, total / np.maximum(kept, 1), np.nan)


@dataclass(frozen=True)
class SeriesInput:
    values: dict[date, Decimal]
    first_day: date  # the series exists from this day; missing days after it are zero
    scan_start: date
    horizon: date  # the last day to score
    quiet: Sequence[tuple[date, date]] = ()  # days already known to be anomalous (stored anomalies)


def detect(
    values: dict[date, Decimal],
    *,
    first_day: date,
    scan_start: date,
    horizon: date,
    sensitivity: Sensitivity,
    direction: Direction = "increase",
    quiet: Sequence[tuple[date, date]] = (),
) -> tuple[list[Finding], list[DayScore]]:
    """One series: its findings (oldest first) and its scored days scan_start..horizon."""
    return detect_many([SeriesInput(values, first_day, scan_start, horizon, quiet)], sensitivity, direction, all_scores=True)[0]


def detect_many(
    inputs: Sequence[SeriesInput], sensitivity: Sensitivity, direction: Direction = "increase", *, all_scores: bool = False
) -> list[tuple[list[Finding], list[DayScore]]]:
    """Every series at once: baselines are computed for all of them together (numpy), the CUSUM runs per series.

    Days that look anomalous must not become their own baseline, and which days those are depends on the
    baseline: so the scan runs up to PASSES times, each time keeping the findings and the sustained suspect runs
    of the previous pass out of the history, until nothing changes. Scored days are returned for every series
    with `all_scores`, else only for series with findings (the charts of their anomalies).
    """
    results: list[tuple[list[Finding], list[DayScore]]] = []
    for offset in range(0, len(inputs), BATCH_SERIES):
        results.extend(_detect_batch(inputs[offset : offset + BATCH_SERIES], sensitivity, direction, all_scores))
    return results


@dataclass
class _Batch:
    origin: date
    amounts: np.ndarray  # (series, days); NaN outside each series' life
    first: np.ndarray  # index of each series' first day
    begin: int  # the first scanned index of any series
    spans: list[tuple[int, int]]  # each series' scanned indexes [from, to]


def _batch(inputs: Sequence[SeriesInput]) -> _Batch:
    origin = min(min(i.first_day, i.scan_start - timedelta(days=HISTORY_DAYS)) for i in inputs)
    length = (max(i.horizon for i in inputs) - origin).days + 1
    amounts = np.full((len(inputs), length), np.nan)
    first = np.zeros(len(inputs), dtype=int)
    spans = []
    for row, series in enumerate(inputs):
        first[row] = (series.first_day - origin).days
        last = (series.horizon - origin).days
        amounts[row, first[row] : last + 1] = 0.0
        for day, value in series.values.items():
            index = (day - origin).days
            if first[row] <= index <= last:
                amounts[row, index] = float(value)
        spans.append(((max(series.scan_start, series.first_day) - origin).days, last))
    return _Batch(origin, amounts, first, min(span[0] for span in spans), spans)


def _scores(batch: _Batch, clean: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected and sigma of the given rows, shape (rows, days from batch.begin)."""
    history = np.where(clean[rows], batch.amounts[rows], np.nan)
    padded = np.concatenate([np.full((len(history), HISTORY_DAYS), np.nan), history], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, HISTORY_DAYS, axis=1)[:, batch.begin : history.shape[1]]
    series, days = windows.shape[0], windows.shape[1]
    age = (np.arange(batch.begin, batch.begin + days)[None, :] - batch.first[rows][:, None]).reshape(-1)
    expected, sigma = window_stats(windows.reshape(series * days, HISTORY_DAYS), age)
    return expected.reshape(series, days), sigma.reshape(series, days)


@dataclass
class _Run:
    """One series' CUSUM walk: findings as index ranges, and the suspect runs that did not (yet) alarm."""

    findings: list[tuple[int, int, int, bool]] = field(default_factory=list)  # start, last, alarm, active
    suspects: list[tuple[int, int]] = field(default_factory=list)


def _walk(z: np.ndarray, span: tuple[int, int], begin: int, sensitivity: Sensitivity) -> _Run:
    run = _Run()
    cusum, suspect_from = 0.0, None
    current: list[int] | None = None  # [start, last, alarm]
    quiet_days = 0
    for index in range(span[0], span[1] + 1):
        value = z[index - begin]
        if np.isnan(value):
            cusum, suspect_from = 0.0, None
            continue
        if current is not None:
            if value >= EXIT_Z:
                current[1], quiet_days = index, 0
            else:
                quiet_days += 1
                if quiet_days >= END_AFTER:
                    run.findings.append((current[0], current[1], current[2], False))
                    current, cusum = None, 0.0
            continue
        cusum = max(0.0, cusum + value - sensitivity.slack)
        if cusum == 0.0:
            if suspect_from is not None and index - suspect_from >= SUSPECT_RUN:
                run.suspects.append((suspect_from, index - 1))
            suspect_from = None
            continue
        suspect_from = index if suspect_from is None else suspect_from
        if cusum >= sensitivity.threshold:
            start = _change_point(z, begin, max(span[0], index - BACKDATE_DAYS), index)
            current, quiet_days, suspect_from = [start, index, index], 0, None
    if current is not None:
        run.findings.append((current[0], current[1], current[2], True))
    elif suspect_from is not None and span[1] - suspect_from + 1 >= SUSPECT_RUN:
        run.suspects.append((suspect_from, span[1]))
    return run


def _change_point(z: np.ndarray, begin: int, earliest: int, alarm: int) -> int:
    """The most likely first day of the shift that alarmed on `alarm`, not before `earliest`: for a step of unknown
    size from day s, the log-likelihood ratio is S(s)^2 / 2n, S(s) the sum of the n z-scores s..alarm; the start
    maximises it. Unlike the day the CUSUM left zero, it neither starts on a noise day before a jump nor misses a
    first anomalous day that fell under the slack."""
    start, best, total = alarm, 0.0, 0.0
    for day in range(alarm, earliest - 1, -1):
        value = z[day - begin]
        if np.isnan(value):
            break
        total += value
        ratio = total * abs(total) / (alarm - day + 1)
        if ratio > best:
            start, best = day, ratio
    return start


def _detect_batch(
    inputs: Sequence[SeriesInput], sensitivity: Sensitivity, direction: Direction, all_scores: bool
) -> list[tuple[list[Finding], list[DayScore]]]:
    batch = _batch(inputs)
    base_clean = ~np.isnan(batch.amounts)
    for row, series in enumerate(inputs):
        for begin, end in series.quiet:
            first = (begin - batch.origin).days
            base_clean[row, max(first, 0) : max(first + min((end - begin).days + 1, EXCLUDE_DAYS), 0)] = False
    sides: tuple[Side, ...] = ("increase", "decrease") if direction == "both" else (direction,)
    walks: dict[Side, list[_Run]] = {}
    shape = (len(inputs), batch.amounts.shape[1] - batch.begin)
    expected, sigma = np.full(shape, np.nan), np.full(shape, np.nan)
    for side in sides:
        sign = 1.0 if side == "increase" else -1.0
        clean = base_clean.copy()
        runs: list[_Run] = [_Run() for _ in inputs]
        todo = np.arange(len(inputs))  # the rows whose history changed since the last pass
        for _ in range(PASSES):
            expected[todo], sigma[todo] = _scores(batch, clean, todo)
            z = sign * (batch.amounts[todo, batch.begin :] - expected[todo]) / sigma[todo]
            changed = []
            for position, row in enumerate(todo.tolist()):
                runs[row] = _walk(z[position], batch.spans[row], batch.begin, sensitivity)
                excluded = base_clean[row].copy()
                for start, last, *_ in runs[row].findings:
                    excluded[start : min(last + 1, start + EXCLUDE_DAYS)] = False
                for start, last in runs[row].suspects:
                    excluded[start : last + 1] = False
                if not np.array_equal(excluded, clean[row]):
                    clean[row] = excluded
                    changed.append(row)
            if not changed:
                break
            todo = np.array(changed)
        walks[side] = runs
    results: list[tuple[list[Finding], list[DayScore]]] = []
    for row, series in enumerate(inputs):
        low, high = batch.spans[row]
        if not all_scores and not any(walks[side][row].findings for side in sides):
            results.append(([], []))
            continue
        scores = [
            _day_score(batch.origin + timedelta(days=index), series, expected[row, index - batch.begin], sigma[row, index - batch.begin])
            for index in range(low, high + 1)
        ]
        findings = [
            Finding(side, batch.origin + timedelta(days=start), batch.origin + timedelta(days=last), batch.origin + timedelta(days=alarm),
                    days=scores[start - low : last - low + 1], active=active)
            for side in sides
            for start, last, alarm, active in walks[side][row].findings
        ]
        findings.sort(key=lambda f: (f.start, f.direction))
        results.append((findings, scores))
    return results


def _day_score(day: date, series: SeriesInput, expected: float, sigma: float) -> DayScore:
    actual = series.values.get(day, Decimal(0))
    if np.isnan(expected):
        return DayScore(day, actual)
    return DayScore(day, actual, to_money(expected), float(sigma))
