"""Issue 14, finding 7: answers kept per (query, table version), bounded per tenant; a per-tenant concurrency bound."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from conftest import auth, sync_and_wait
from costlake.months import current_month
from costlake.query.cache import Busy, ResultCache, TenantGate
from costlake.query.scope import Scope
from focus_files import focus_row, write_csv

NOW = current_month()


def _query(client, tenant, group_by: str = "ServiceName"):  # type: ignore[no-untyped-def]
    response = client.post(f"/api/v1/tenants/{tenant.id}/costs/query", headers=auth(tenant.member),
                           json={"group_by": [group_by], "granularity": "month", "start": f"{NOW}-01"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def synced(client, make_tenant, tmp_path, settings):  # type: ignore[no-untyped-def]
    settings.allowed_local_roots = [tmp_path]
    acme = make_tenant("acme")
    write_csv(tmp_path / "export" / "a.csv", [focus_row(NOW, "1.50")])
    source = client.post(f"/api/v1/tenants/{acme.id}/billing-sources", headers=auth(acme.admin),
                         json={"provider": "aws", "source_uri": str(tmp_path / "export")}).json()
    assert sync_and_wait(client, acme.id, source["id"], acme.admin)["status"] == "succeeded"
    return acme, source, tmp_path / "export"


def test_a_repeated_query_is_answered_without_running_it_again_until_a_commit(client, synced, monkeypatch):  # type: ignore[no-untyped-def]
    acme, source, export = synced
    first = _query(client, acme)
    from costlake.query import engine

    executed = []
    real_cached = engine.cached

    def spy(cache, gate, tenant_id, version, key, compute):  # type: ignore[no-untyped-def]
        def run():  # type: ignore[no-untyped-def]
            executed.append(key)
            return compute()
        return real_cached(cache, gate, tenant_id, version, key, run)

    monkeypatch.setattr(engine, "cached", spy)
    assert _query(client, acme)["totals"] == first["totals"] == {"USD": "1.50"}
    assert executed == [], "the repeated query ran again"

    write_csv(export / "a.csv", [focus_row(NOW, "4.00")])
    assert sync_and_wait(client, acme.id, source["id"], acme.admin)["status"] == "succeeded"
    assert _query(client, acme)["totals"] == {"USD": "4.00"}  # a commit is a new version: never a stale answer
    assert len(executed) == 1


def test_answers_kept_per_tenant_are_bounded_and_a_new_version_drops_the_old() -> None:
    cache = ResultCache(entries_per_tenant=3)
    for n in range(5):
        cache.put("acme", 1, f"q{n}", [(n,)])
    assert cache.size("acme") == 3
    assert cache.get("acme", 1, "q0") is None and cache.get("acme", 1, "q4") == [(4,)]
    cache.put("globex", 1, "q0", [(0,)])
    assert cache.size("acme") == 3 and cache.size("globex") == 1  # one tenant cannot push another's out
    cache.put("acme", 2, "q9", [(9,)])
    assert cache.size("acme") == 1 and cache.get("acme", 1, "q4") is None
    cache.put("acme", 1, "late", [(0,)])  # computed on a version already replaced: not kept
    assert cache.get("acme", 1, "late") is None and cache.size("acme") == 1


def test_one_tenants_heavy_queries_wait_for_each_other_not_for_other_tenants() -> None:
    gate = TenantGate(per_tenant=1, wait=timedelta(milliseconds=200))
    holding, release = threading.Event(), threading.Event()

    def heavy() -> None:
        with gate.admitted("acme"):
            holding.set()
            release.wait(5)

    worker = threading.Thread(target=heavy)
    worker.start()
    assert holding.wait(5)
    started = time.monotonic()
    with gate.admitted("globex"):  # another tenant goes ahead at once
        assert time.monotonic() - started < 0.1
    with pytest.raises(Busy, match="COSTLAKE_QUERY_CONCURRENCY"), gate.admitted("acme"):
        pass
    release.set()
    worker.join()
    with gate.admitted("acme"):
        pass


def test_a_busy_tenant_gets_503_with_retry_after(client, synced, settings, monkeypatch):  # type: ignore[no-untyped-def]
    acme, _, _ = synced
    reader = client.app.state.services.reader
    monkeypatch.setattr(reader, "_gate", TenantGate(per_tenant=1, wait=timedelta(milliseconds=100)))
    with reader._gate.admitted(acme.id):
        response = client.post(f"/api/v1/tenants/{acme.id}/costs/query", headers=auth(acme.member),
                               json={"group_by": ["RegionId"], "granularity": "month", "start": f"{NOW}-01"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5", response.text
    assert "COSTLAKE_QUERY_CONCURRENCY" in response.json()["detail"]


def test_a_kept_answer_never_outlives_what_it_shows_besides_the_table(client, synced):  # type: ignore[no-untyped-def]
    """The finished JSON is kept per table version, keyed by the source names it shows and the allocation version
    it used: renaming a source or publishing rules answers anew at once, without a commit."""
    acme, source, _ = synced
    assert [row["source"] for row in _query(client, acme, "source")["rows"]] == [source["name"]]
    renamed = client.put(f"/api/v1/tenants/{acme.id}/billing-sources/{source['id']}", headers=auth(acme.admin), json={"name": "aws renamed"})
    assert renamed.status_code == 200, renamed.text
    assert [row["source"] for row in _query(client, acme, "source")["rows"]] == ["aws renamed"]
    base = f"/api/v1/tenants/{acme.id}/allocation"
    for value in ("first", "second"):
        dimension = {"name": "team", "rules": [{"when": [{"dimension": "ProviderName", "op": "ne", "values": ["none"]}], "value": value}]}
        assert client.put(f"{base}/draft", headers=auth(acme.admin), json={"dimensions": [dimension]}).status_code == 200
        assert client.post(f"{base}/publish", headers=auth(acme.admin)).status_code == 200
        answer = _query(client, acme, "dim:team")
        assert [row["dim:team"] for row in answer["rows"]] == [value] and answer["totals"] == {"USD": "1.50"}


def test_a_renamed_source_shows_its_new_name_at_once(client, synced):  # type: ignore[no-untyped-def]
    """Source names are kept a few seconds per process (catalog/recent.py); a rename through this process forgets
    them, so the next answer, kept or not, names the source as it is now."""
    acme, source, _ = synced
    assert [row["source"] for row in _query(client, acme, "source")["rows"]] == [source["name"]]
    renamed = client.put(f"/api/v1/tenants/{acme.id}/billing-sources/{source['id']}", headers=auth(acme.admin), json={"name": "renamed-export"})
    assert renamed.status_code == 200, renamed.text
    assert [row["source"] for row in _query(client, acme, "source")["rows"]] == ["renamed-export"]



@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_tag_coverage_after_a_sync_reads_only_the_new_files(client, synced, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    acme, _, _ = synced  # one row of 1.50 tagged team
    coverage = client.app.state.services.reader._tag_coverage
    read: list[list[str]] = []
    run = coverage._run
    coverage._run = lambda tenant, sql, params: read.append(params["files"]) or run(tenant, sql, params)

    def add(name: str, rows: list[dict[str, str]]) -> str:
        write_csv(tmp_path / name / "a.csv", rows)
        source = client.post(f"/api/v1/tenants/{acme.id}/billing-sources", headers=auth(acme.admin),
                             json={"provider": "aws", "source_uri": str(tmp_path / name)}).json()
        assert sync_and_wait(client, acme.id, source["id"], acme.admin)["status"] == "succeeded"
        return source["id"]

    def tag_keys(scope: Scope) -> list[tuple[str, float]]:
        return client.app.state.services.reader.tag_coverage(scope)

    tagged = add("tagged", [focus_row(NOW, "3", Tags='{"team": "payments", "env": "prod"}'), focus_row(NOW, "-1", Tags='{"team": "search"}')])
    assert tag_keys(Scope(acme.id)) == [("team", 1.0), ("env", 0.5455)]  # of |1.5| + |3| + |-1|
    assert len(read) == 1 and len(read[0]) == 2
    add("untagged", [focus_row(NOW, "6", Tags="{}"), focus_row(NOW, "4", Tags="")])
    assert tag_keys(Scope(acme.id)) == [("team", 0.3548), ("env", 0.1935)]  # of 15.5
    assert len(read) == 2 and len(read[1]) == 1, "only the new source's file was read"
    assert tag_keys(Scope(acme.id, frozenset({tagged}))) == [("team", 1.0), ("env", 0.75)]
    assert len(read) == 2, "a scope is summed from the figures already read"
