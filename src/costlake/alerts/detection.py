"""Anomaly detection on one daily cost series: a robust weekly-seasonal baseline and a one-sided CUSUM.

Why this shape (docs/alerts.md has the long form):
- The baseline is medians, not means: past spikes do not drag the expected value.
- expected(t) = level + weekday offset. Offsets are the per-weekday medians minus the overall median of the last
  8 weeks; the level is the median of the last 14 deseasonalised days, so trends and older level shifts are followed.
- The noise sigma comes from same-weekday differences a week apart (their RMS without the largest eighth): free of the
  weekly pattern without estimating it, hardly touched by a trend, and widened by the baseline's own uncertainty.
- CUSUM accumulates evidence over consecutive days: a large spike fires on its first day, a lasting shift of three
  noise sigmas after two or three days, and the finding is dated back to the day the sum left zero. Requiring
  evidence over days is what keeps false positives rare on noisy series.
- Days inside a finding are kept out of later baselines for its first EXCLUDE_DAYS days; after that a lasting
  change becomes the new normal and the finding ends.

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
CHUNK_DAYS = 32  # baselines are computed this many days ahead, again whenever the history changes
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


def baselines(values: np.ndarray, clean: np.ndarray, first: int, start: int, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Expected value and sigma for `count` days from `start` (default: to the end; NaN where history is too short).

    `values` are daily amounts indexed from some day 0; `clean` marks days that may serve as history; the series
    exists from index `first`.
    """
    count = min(len(values) - start, count if count is not None else len(values))
    history = np.where(clean, values, np.nan)
    history[:first] = np.nan
    padded = np.concatenate([np.full(HISTORY_DAYS, np.nan), history])
    # windows[i] = the HISTORY_DAYS days before day start+i; column c is day t-56+c, whose weekday is t's when c%7 == 0.
    windows = np.lib.stride_tricks.sliding_window_view(padded, HISTORY_DAYS)[start : start + count]
    enough = (np.count_nonzero(~np.isnan(windows), axis=1) >= MIN_HISTORY_DAYS) & (np.arange(start, start + count) - first >= MIN_HISTORY_DAYS)
    expected = np.full(count, np.nan)
    sigma = np.full(count, np.nan)
    if not enough.any():
        return expected, sigma
    windows = windows[enough]
    with np.errstate(all="ignore"):
        weekly = windows.reshape(len(windows), WEEKS, 7)
        overall = trimmed_mean(windows)
        offsets = np.stack([trimmed_mean(weekly[:, :, weekday]) for weekday in range(7)], axis=1) - overall[:, None]
        offsets = np.where(np.isnan(offsets), 0.0, offsets)
        deseasoned = (weekly - offsets[:, None, :]).reshape(len(windows), HISTORY_DAYS)
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
    mean_square = np.where(keep, np.nan_to_num(ordered) ** 2, 0.0).sum(axis=1) / kept
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
    total = np.where(keep, np.nan_to_num(ordered), 0.0).sum(axis=1)
    return np.where(kept > 0, total / np.maximum(kept, 1), np.nan)


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
    """Findings on days scan_start..horizon of a series that exists from `first_day` (missing days are zero).

    `quiet` are day ranges already known to be anomalous (stored anomalies), kept out of baselines like findings.
    Returns the findings (oldest first) and the scored days of the scan (for charts).
    """
    origin = min(first_day, scan_start - timedelta(days=HISTORY_DAYS))
    length = (horizon - origin).days + 1
    if length <= 0 or scan_start > horizon:
        return [], []
    exact = [values.get(origin + timedelta(days=i), Decimal(0)) for i in range(length)]
    amounts = np.array([float(v) for v in exact])
    first = (first_day - origin).days
    start = (max(scan_start, first_day) - origin).days
    sides: tuple[Side, ...] = ("increase", "decrease") if direction == "both" else (direction,)
    findings: list[Finding] = []
    scores: list[DayScore] = []
    for side in sides:
        clean = np.ones(length, dtype=bool)
        for begin, end in quiet:
            for k in range(min((end - begin).days + 1, EXCLUDE_DAYS)):
                index = (begin - origin).days + k
                if 0 <= index < length:
                    clean[index] = False
        found, scores = _scan(exact, amounts, clean, first, start, origin, sensitivity, side)
        findings.extend(found)
    findings.sort(key=lambda f: (f.start, f.direction))
    return findings, scores


def _scan(
    exact: list[Decimal], amounts: np.ndarray, clean: np.ndarray, first: int, start: int, origin: date,
    sensitivity: Sensitivity, side: Side,
) -> tuple[list[Finding], list[DayScore]]:
    """Walk the days in order. Days under suspicion (the CUSUM is above zero) and days of a finding leave the
    history of later days, so an anomaly that builds up slowly does not become its own baseline."""
    sign = 1.0 if side == "increase" else -1.0
    length = len(amounts)
    cache: dict[int, tuple[float, float]] = {}

    def score(index: int) -> DayScore:
        if index not in cache:
            cache.clear()
            expected, sigma = baselines(amounts, clean, first, index, CHUNK_DAYS)
            cache.update({index + k: (float(e), float(s)) for k, (e, s) in enumerate(zip(expected, sigma))})
        e, s = cache[index]
        day = origin + timedelta(days=index)
        return DayScore(day, exact[index]) if np.isnan(e) else DayScore(day, exact[index], to_money(e), s)

    def set_clean(indexes: Sequence[int], value: bool) -> None:
        if indexes:
            clean[list(indexes)] = value
            cache.clear()

    findings: list[Finding] = []
    scores: list[DayScore] = []
    cusum = 0.0
    suspects: list[int] = []  # the current run of the CUSUM, kept out of history while it lasts
    current: Finding | None = None
    quiet_days = 0
    for index in range(start, length):
        day_score = score(index)
        scores.append(day_score)
        z = day_score.z
        if z is None:
            cusum = 0.0
            set_clean(suspects, True)
            suspects = []
            continue
        z *= sign
        if current is not None:
            if z >= EXIT_Z:
                current.days.extend(scores[-(day_score.day - current.last).days :])
                current.last, quiet_days = day_score.day, 0
                if (current.last - current.start).days < EXCLUDE_DAYS:
                    set_clean([index], False)
            else:
                quiet_days += 1
                if quiet_days >= END_AFTER:
                    current.active = False
                    current, cusum = None, 0.0
            continue
        cusum = max(0.0, cusum + z - sensitivity.slack)
        if cusum == 0.0:
            set_clean(suspects, True)
            suspects = []
            continue
        suspects.append(index)
        set_clean([index], False)
        if cusum >= sensitivity.threshold:
            run_start = suspects[0]
            # The sum may have left zero a day late (a first anomalous day under the slack): date it back over
            # the days just before that were already out by EXIT_Z.
            while run_start > start and run_start > index - BACKDATE_DAYS and sign * (scores[run_start - 1 - start].z or 0.0) >= EXIT_Z:
                run_start -= 1
                set_clean([run_start], False)
            current = Finding(side, origin + timedelta(days=run_start), day_score.day, day_score.day, days=scores[run_start - start :])
            findings.append(current)
            quiet_days, suspects = 0, []
    return findings, scores
