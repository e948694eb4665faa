"""A local stand-in for the BigQuery REST API, enough for google-cloud-bigquery to run a query and page its result.

No BigQuery emulator runs here, so the BigQuery read path is tested at the HTTP boundary: the real client talks
to this server (BIGQUERY_EMULATOR_HOST), which answers tables.get, jobs.insert, jobs.query, jobs.get and
jobs.getQueryResults with the JSON shapes the API uses (rows as `f`/`v` cells, pages chained by pageToken).
It "runs" only the queries costlake sends: `SELECT * FROM `table`` filtered by the named parameters first_month,
last_month (invoice.month) and partition_from/partition_to (_PARTITIONTIME = the UTC day of usage_start_time).
Every request is recorded so tests can check what was asked and that pages were fetched one at a time.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from costlake.samples.gcp_export import Field

PREFIX = "/bigquery/v2"


@dataclass
class FakeTable:
    fields: tuple[Field, ...]
    rows: list[dict[str, Any]]
    ingestion_partitioned: bool = True


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class FakeBigQuery:
    tables: dict[str, FakeTable]  # "project.dataset.table" -> table
    page_rows: int = 4
    requests: list[Request] = field(default_factory=list)
    queries: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (SQL, {parameter: value})
    _results: dict[str, tuple[FakeTable, list[dict[str, Any]]]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeBigQuery:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                parsed = urlparse(self.path)
                query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.requests.append(Request(method, parsed.path, query, body))
                status, payload = fake.route(method, parsed.path.removeprefix(PREFIX), query, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # -- routing -------------------------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, str], body: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        if method == "GET" and (m := re.fullmatch(r"/projects/([^/]+)/datasets/([^/]+)/tables/([^/]+)", path)):
            return self._table(m[1], m[2], m[3])
        if method == "POST" and (m := re.fullmatch(r"/projects/([^/]+)/jobs", path)):
            assert body is not None
            job_id = body.get("jobReference", {}).get("jobId") or uuid.uuid4().hex
            error = self._run(job_id, body["configuration"]["query"])
            return error or (200, self._job(m[1], job_id, body["configuration"]))
        if method == "POST" and (m := re.fullmatch(r"/projects/([^/]+)/queries", path)):
            assert body is not None
            job_id = uuid.uuid4().hex
            error = self._run(job_id, body)
            options = {"maxResults": str(body.get("maxResults", self.page_rows))}
            if body.get("formatOptions", {}).get("useInt64Timestamp"):
                options["formatOptions.useInt64Timestamp"] = "true"
            return error or (200, self._page(m[1], job_id, options))
        if method == "GET" and (m := re.fullmatch(r"/projects/([^/]+)/jobs/([^/]+)", path)):
            return 200, self._job(m[1], m[2], {"query": {"query": self.queries[-1][0]}})
        if method == "GET" and (m := re.fullmatch(r"/projects/([^/]+)/queries/([^/]+)", path)):
            return 200, self._page(m[1], m[2], query)
        return 501, {"error": {"code": 501, "message": f"fake BigQuery: {method} {path} is not served"}}

    def _table(self, project: str, dataset: str, table: str) -> tuple[int, dict[str, Any]]:
        found = self.tables.get(f"{project}.{dataset}.{table}")
        if found is None:
            return 404, {"error": {"code": 404, "message": f"Not found: Table {project}:{dataset}.{table}", "status": "NOT_FOUND"}}
        resource: dict[str, Any] = {
            "kind": "bigquery#table",
            "id": f"{project}:{dataset}.{table}",
            "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table},
            "schema": {"fields": [_schema(f) for f in found.fields]},
            "numRows": str(len(found.rows)),
            "type": "TABLE",
        }
        if found.ingestion_partitioned:
            resource["timePartitioning"] = {"type": "DAY"}
        return 200, resource

    def _run(self, job_id: str, config: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        sql = config["query"]
        parameters = {p["name"]: p["parameterValue"]["value"] for p in config.get("queryParameters", [])}
        self.queries.append((sql, parameters))
        m = re.fullmatch(r"SELECT \* FROM `([^`]+)`(?: WHERE .*)?", sql, re.DOTALL)
        if m is None or m[1] not in self.tables:
            return 400, {"error": {"code": 400, "message": f"fake BigQuery cannot run: {sql}", "status": "INVALID_ARGUMENT"}}
        table = self.tables[m[1]]
        self._results[job_id] = (table, [row for row in table.rows if _selected(row, sql, parameters)])
        return None

    def _job(self, project: str, job_id: str, configuration: dict[str, Any]) -> dict[str, Any]:
        return {
            "kind": "bigquery#job",
            "id": f"{project}:US.{job_id}",
            "jobReference": {"projectId": project, "jobId": job_id, "location": "US"},
            "configuration": configuration,
            "status": {"state": "DONE"},
            "statistics": {"creationTime": "1700000000000", "startTime": "1700000000000", "endTime": "1700000000001"},
        }

    def _page(self, project: str, job_id: str, query: dict[str, str]) -> dict[str, Any]:
        table, rows = self._results[job_id]
        start = int(query.get("pageToken") or query.get("startIndex") or 0)
        size = int(query.get("maxResults") or self.page_rows)
        int64_times = query.get("formatOptions.useInt64Timestamp", "").lower() == "true"
        page = rows[start : start + size]
        payload: dict[str, Any] = {
            "kind": "bigquery#getQueryResultsResponse",
            "jobReference": {"projectId": project, "jobId": job_id, "location": "US"},
            "jobComplete": True,
            "schema": {"fields": [_schema(f) for f in table.fields]},
            "totalRows": str(len(rows)),
            "rows": [{"f": [_cell(f, row.get(f.name), int64_times) for f in table.fields]} for row in page],
        }
        if start + size < len(rows):
            payload["pageToken"] = str(start + size)
        return payload

    def page_requests(self) -> list[Request]:
        return [r for r in self.requests if re.fullmatch(rf"{PREFIX}/projects/[^/]+/queries/[^/]+", r.path)]


def _selected(row: dict[str, Any], sql: str, parameters: dict[str, str]) -> bool:
    if not parameters:
        return True  # a plain SELECT * (e.g. the CUD metadata table, which has no invoice month) keeps every row
    month = row["invoice"]["month"]
    if "@first_month" in sql and month < parameters["first_month"]:
        return False
    if "@last_month" in sql and month > parameters["last_month"]:
        return False
    day = row["usage_start_time"].replace(hour=0, minute=0, second=0, microsecond=0)
    if "@partition_from" in sql and day < _timestamp(parameters["partition_from"]):
        return False
    return not ("@partition_to" in sql and day >= _timestamp(parameters["partition_to"]))


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace(" UTC", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _schema(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "type": f.type, "mode": f.mode}
    if f.fields:
        out["fields"] = [_schema(child) for child in f.fields]
    return out


def _scalar(f: Field, value: Any, int64_times: bool) -> Any:
    if value is None:
        return None
    if f.type == "RECORD":
        return {"f": [_cell(child, value.get(child.name), int64_times) for child in f.fields]}
    if f.type == "TIMESTAMP":
        micros = int(value.timestamp() * 1_000_000)
        return str(micros) if int64_times else repr(micros / 1_000_000)
    if f.type == "BOOLEAN":
        return "true" if value else "false"
    if f.type == "FLOAT":
        return repr(float(value))
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _cell(f: Field, value: Any, int64_times: bool) -> dict[str, Any]:
    if f.mode == "REPEATED":
        return {"v": [{"v": _scalar(Field(f.name, f.type, "NULLABLE", f.fields), item, int64_times)} for item in value or []]}
    return {"v": _scalar(f, value, int64_times)}
