"""Scheduled pulls of metric values: a PromQL query against Prometheus's HTTP API, or a SQL query against
PostgreSQL over a read-only DSN. A run reads complete UTC days, checks them like an upload, and replaces those days
in one transaction: a failed read changes nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict

from costlake.catalog import Catalog
from costlake.catalog import metric_pulls as pull_rows
from costlake.catalog.metrics import replace_days
from costlake.catalog.models import MetricPull, MetricPullRun
from costlake.credentials import CredentialError, Secret, resolve_credential, store_credential
from costlake.errors import Conflict, CostlakeError, InvalidInput
from costlake.metrics.labels import LabelChecker
from costlake.metrics.values import RawValue, check_values
from costlake.months import add_months, month_of
from costlake.settings import Settings

log = logging.getLogger(__name__)

DSN_PARTS = ("dsn",)
MAX_BACKFILL_MONTHS = 12
CHUNK_DAYS = 31  # one Prometheus request per month of days; the lease is renewed between them
ATTEMPTS = 3  # tries per read; network errors and 5xx answers are retried after 1 s, then 4 s
QUERY_TIMEOUT_SECONDS = 60


class PullError(CostlakeError):
    """The metric's own system refused or failed; the message is its own, so the user can fix the query."""


class TransientPullError(PullError):
    pass


def check_host(host: str | None, port: int | None, settings: Settings, field_name: str) -> None:
    """Tenants may only make the server call hosts the operator listed (COSTLAKE_PULL_ALLOWED_HOSTS)."""
    allowed = set(settings.pull_allowed_hosts)
    if host and (host in allowed or f"{host}:{port}" in allowed):
        return
    listed = ", ".join(sorted(allowed)) or "none"
    raise InvalidInput(
        field_name, f"host {host!r} is not one the operator allows metric pulls from ({listed}); ask the operator to add it to COSTLAKE_PULL_ALLOWED_HOSTS"
    )


def check_prometheus_url(url: str, settings: Settings, *, operator: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url", f"url {url!r} must be the http(s) address of a Prometheus server, e.g. http://prometheus:9090")
    if not operator:
        check_host(parts.hostname, parts.port, settings, "url")
    return url.rstrip("/")


def check_dsn(dsn: str, settings: Settings, *, operator: bool) -> None:
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise InvalidInput("credential", "credential.value is not a PostgreSQL DSN (postgresql://user@host:5432/db or key=value pairs)") from None
    if not operator:
        host = parts.get("host") or parts.get("hostaddr")
        check_host(str(host) if host else None, int(parts.get("port") or 5432), settings, "credential")


def pull_fields(spec: dict[str, Any], settings: Settings, *, tenant_name: str, operator: bool, stored: MetricPull | None) -> dict[str, Any]:
    """A pull's catalog fields from its API form; a PostgreSQL DSN is stored write-only (kept when not given again)."""
    kind = spec["kind"]
    config: dict[str, Any] = {"query": spec["query"], "window_days": spec["window_days"]}
    credential = None
    if kind == "prometheus":
        if not spec.get("url"):
            raise InvalidInput("url", "a prometheus pull needs the server's url, e.g. http://prometheus:9090")
        config["url"] = check_prometheus_url(spec["url"], settings, operator=operator)
        config["label_map"] = spec.get("label_map") or {}
    else:
        given = spec.get("credential")
        if given is None:
            if stored is None or stored.kind != "postgres" or not stored.credential:
                raise CredentialError("a postgres pull needs a credential: {\"kind\": \"stored\", \"value\": DSN} or {\"kind\": \"env\", \"name\": VAR}")
            credential = stored.credential
        else:
            if given.get("kind") == "stored":
                check_dsn(str(given.get("value", "")), settings, operator=operator)
            credential = store_credential(given, DSN_PARTS, settings, tenant_name=tenant_name, operator=operator)
    return {"kind": kind, "config": config, "credential": credential, "backfill_months": spec["backfill_months"], "enabled": spec["enabled"]}


# Reading ------------------------------------------------------------------------------------------------------


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def read_prometheus(config: dict[str, Any], first: date, last: date, settings: Settings) -> list[RawValue]:
    """Evaluates the query at the end of each UTC day (00:00 of the next), so `increase(x[1d])` is that day's count.
    Each series' labels become the value's labels (renamed by `label_map`); `__name__` is dropped."""
    url, query = config["url"], config["query"]
    label_map: dict[str, str] = config.get("label_map") or {}
    raws: list[RawValue] = []
    with httpx.Client(timeout=QUERY_TIMEOUT_SECONDS) as http:
        for chunk_first, chunk_last in _chunks(first, last):
            params = {
                "query": query,
                "start": _midnight(chunk_first + timedelta(days=1)).timestamp(),
                "end": _midnight(chunk_last + timedelta(days=1)).timestamp(),
                "step": "86400",
            }
            try:
                response = http.get(f"{url}/api/v1/query_range", params=params)
            except httpx.TransportError as error:
                raise TransientPullError(f"cannot reach Prometheus at {url}: {error}") from None
            body = _prometheus_body(url, response)
            for series in body["data"]["result"]:
                labels = {label_map.get(k, k): v for k, v in series["metric"].items() if k != "__name__"}
                for timestamp, text in series["values"]:
                    day = datetime.fromtimestamp(float(timestamp), UTC).date() - timedelta(days=1)
                    raws.append(RawValue(f"series {labels or '{}'} on {day.isoformat()}", day, text, labels))
    return raws


def _prometheus_body(url: str, response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientPullError(f"Prometheus at {url} answered {response.status_code}: {body.get('error') or response.text[:300]}")
    if body.get("status") != "success":
        raise PullError(f"Prometheus at {url} answered {response.status_code}: {body.get('errorType', 'error')}: {body.get('error') or response.text[:300]}")
    if body["data"]["resultType"] != "matrix":
        raise PullError(f"the query gives a {body['data']['resultType']}, not series over time; write an instant-vector expression")
    return body


def _chunks(first: date, last: date) -> Iterator[tuple[date, date]]:
    while first <= last:
        end = min(last, first + timedelta(days=CHUNK_DAYS - 1))
        yield first, end
        first = end + timedelta(days=1)


def read_postgres(config: dict[str, Any], secret: Secret, first: date, last: date) -> list[RawValue]:
    """Runs the query in a read-only transaction; it returns `date`, `value` and optional label columns."""
    query = config["query"].strip().rstrip(";").replace("%", "%%")
    wrapped = f"SELECT * FROM ({query}) AS metric_rows WHERE metric_rows.date >= %(first)s AND metric_rows.date <= %(last)s"
    try:
        with psycopg.connect(secret.value, connect_timeout=10, options=f"-c statement_timeout={QUERY_TIMEOUT_SECONDS * 1000}") as connection:
            connection.read_only = True
            with connection.cursor() as cursor:
                cursor.execute(wrapped.encode(), {"first": first, "last": last})
                names = [column.name for column in cursor.description or []]
                rows = cursor.fetchall()
    except psycopg.OperationalError as error:
        raise TransientPullError(f"PostgreSQL: {secret.redact(str(error)).strip()}") from None
    except psycopg.Error as error:
        raise PullError(f"PostgreSQL: {secret.redact(str(error)).strip()}") from None
    if "date" not in names or "value" not in names:
        raise PullError(f"the query must return columns named date and value (and label columns); it returns {', '.join(names)}")
    raws = []
    for number, row in enumerate(rows, start=1):
        record = dict(zip(names, row))
        day = record.pop("date")
        value = record.pop("value")
        labels = {key: str(cell) for key, cell in record.items() if cell is not None}
        day = day.date() if isinstance(day, datetime) else day
        raws.append(RawValue(f"row {number}", day, value if value is None or isinstance(value, int | Decimal | str) else repr(value), labels))
    return raws


# Running ------------------------------------------------------------------------------------------------------


@dataclass
class PullContext:
    settings: Settings
    catalog: Catalog
    owner: str
    tag_keys: Callable[[str], list[str]]  # a tenant's tag keys, to check labels


def plan_days(pull: MetricPull, from_date: date | None, today: date) -> tuple[str, date, date]:
    """(trigger, first day, last day): a backfill reaches back `backfill_months` (at most 12), later runs the
    trailing `window_days`; the last day is yesterday, the latest complete UTC day."""
    last = today - timedelta(days=1)
    earliest = date.fromisoformat(add_months(month_of(today), -MAX_BACKFILL_MONTHS) + "-01")
    if from_date is not None or pull.needs_backfill:
        start = from_date or date.fromisoformat(add_months(month_of(today), -pull.backfill_months) + "-01")
        return "backfill", max(start, earliest), last
    window = int(pull.config.get("window_days", 3))
    return "schedule", last - timedelta(days=window - 1), last


def read_days(pull: MetricPull, first: date, last: date, settings: Settings) -> list[RawValue]:
    if pull.kind == "prometheus":
        return read_prometheus(pull.config, first, last, settings)
    if not pull.credential:
        raise CredentialError("this PostgreSQL pull has no DSN; set it again with a credential")
    return read_postgres(pull.config, resolve_credential(pull.credential, DSN_PARTS, settings), first, last)


def run_pull(context: PullContext, pull: MetricPull, run: MetricPullRun, sleep: Callable[[float], None] = time.sleep) -> MetricPullRun:
    """Carry out a started run; whatever fails, the metric's earlier values stay and the run says why."""
    settings = context.settings
    assert run.first_day is not None and run.last_day is not None
    try:
        raws: list[RawValue] = []
        for attempt in range(1, ATTEMPTS + 1):
            if not pull_rows.renew_lease(context.catalog, run.id, context.owner, settings.lease_duration, attempt):
                raise PullError("this pull lost its lease (another worker declared it dead); nothing was written")
            try:
                raws = read_days(pull, run.first_day, run.last_day, settings)
                break
            except TransientPullError:
                if attempt == ATTEMPTS:
                    raise
                sleep(4 ** (attempt - 1))
        skipped = [raw for raw in raws if str(raw.value).lower() in ("nan", "+inf", "-inf", "inf")]
        labels = LabelChecker(lambda: context.tag_keys(pull.tenant_id))
        changes = [c for c in check_values([raw for raw in raws if raw not in skipped], labels) if c.value is not None]
        written = replace_days(context.catalog, pull.metric_id, run.first_day, run.last_day, changes)
        warnings = [f"{len(skipped)} samples were NaN or infinite and were left out"] if skipped else []
        if not changes:
            warnings.append(f"the query returned no values for {run.first_day.isoformat()} to {run.last_day.isoformat()}")
        outcome = pull_rows.PullOutcome("warning" if warnings else "succeeded", written, warnings=warnings)
    except Exception as error:
        known = isinstance(error, CostlakeError)
        if not known:
            log.exception("metric pull %s failed", run.id)
        outcome = pull_rows.PullOutcome("failed", error=str(error) if known else f"unexpected error: {type(error).__name__}: {error}")
    return pull_rows.finish_run(context.catalog, run.id, outcome)


class PullRunner:
    """Starts pulls (from the API or the scheduler) and runs them on a small thread pool."""

    def __init__(self, context: PullContext, max_workers: int = 2) -> None:
        self.context = context
        self._max_workers = max_workers
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="metric-pull")
        self._active = 0
        self._lock = threading.Lock()

    def start(self, pull: MetricPull, *, from_date: date | None = None, manual: bool = False) -> MetricPullRun:
        trigger, first, last = plan_days(pull, from_date, datetime.now(UTC).date())
        if first > last:
            raise InvalidInput("from", f"from {first.isoformat()} is not before today; pulls read complete days only")
        trigger = "manual" if manual and trigger == "schedule" else trigger
        run = pull_rows.start_run(
            self.context.catalog, pull, trigger=trigger, first=first, last=last, owner=self.context.owner, lease=self.context.settings.lease_duration
        )
        with self._lock:
            self._active += 1
        self._pool.submit(self._run, pull, run)
        return run

    def _run(self, pull: MetricPull, run: MetricPullRun) -> None:
        try:
            run_pull(self.context, pull, run)
        finally:
            with self._lock:
                self._active -= 1

    def start_due(self) -> list[MetricPullRun]:
        """One scheduler pass: fail runs of dead workers, then start due pulls while a worker is free."""
        pull_rows.expire_stale_runs(self.context.catalog)
        started = []
        for pull in pull_rows.due_pulls(self.context.catalog, self.context.settings.metric_pull_interval):
            with self._lock:
                if self._active >= self._max_workers:
                    break
            try:
                started.append(self.start(pull))
            except Conflict:
                continue  # another worker has it
        return started

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)
