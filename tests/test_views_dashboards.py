"""/views and /dashboards: saved explorer states that run like the explorer, ordered widgets, and who may change what."""

from __future__ import annotations

import pytest

from conftest import auth
from unit_costs_data import load_costs


@pytest.fixture
def acme(client, make_tenant, settings, tmp_path):  # type: ignore[no-untyped-def]
    tenant = make_tenant("acme")
    load_costs(client, settings, tmp_path, tenant.id, tenant.admin)
    client.post(f"/api/v1/tenants/{tenant.id}/metrics", headers=auth(tenant.admin), json={"name": "requests", "unit": "requests"})
    client.post(f"/api/v1/tenants/{tenant.id}/metrics/requests/values", headers=auth(tenant.admin), json={"values": [
        {"date": "2026-11-02", "value": "1000", "labels": {"team": "payments"}},
        {"date": "2026-11-02", "value": "500", "labels": {"team": "search"}},
    ]})
    return tenant


def url(tenant: str, path: str) -> str:
    return f"/api/v1/tenants/{tenant}/{path}"


VIEW = {
    "name": "Cost per 1k requests by team",
    "query": {"start": "2026-11-01", "end": "2026-12-01", "granularity": "day", "group_by": ["tag:team"], "unit_metric": "requests", "unit_scale": 1000},
    "chart": "line",
    "events_overlay": {"labels": {"team": "payments"}, "categories": ["deploy"]},
    "allocation_version": 13,
}


def test_a_saved_view_runs_like_the_explorer(client, acme) -> None:  # type: ignore[no-untyped-def]
    created = client.post(url(acme.id, "views"), headers=auth(acme.member), json=VIEW)
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["url"] == f"/explorer?view={view['id']}" and view["allocation_version"] == 13 and view["range"] is None
    assert view["events_overlay"] == {"enabled": True, "labels": {"team": "payments"}, "categories": ["deploy"]}
    assert view["query"]["group_by"] == ["tag:team"] and view["query"]["metric"] == "EffectiveCost"
    result = client.get(url(acme.id, f"views/{view['id']}/result"), headers=auth(acme.admin)).json()
    explorer = client.post(url(acme.id, "costs/query"), headers=auth(acme.admin), json=VIEW["query"]).json()
    assert result["rows"] == explorer["rows"] and result["totals"] == explorer["totals"]
    assert {(r["period"], r["tag:team"]): r["unit_cost"] for r in result["rows"]}[("2026-11-02", "payments")] == "120"
    assert [v["id"] for v in client.get(url(acme.id, "views"), headers=auth(acme.admin)).json()] == [view["id"]]


def test_a_relative_range_ends_today(client, acme) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "Last month", "query": {"granularity": "none"}, "range": "last_month"}
    view = client.post(url(acme.id, "views"), headers=auth(acme.admin), json=body).json()
    assert view["range"] == "last_month" and "start" not in view["query"]
    result = client.get(url(acme.id, f"views/{view['id']}/result"), headers=auth(acme.admin), params={"today": "2026-12-06"}).json()
    assert (result["query"]["start"], result["query"]["end"]) == ("2026-11-01", "2026-12-01")
    assert result["totals"] == {"USD": "470.00"}
    week = client.post(url(acme.id, "views"), headers=auth(acme.admin), json={**body, "range": "last_7_days"}).json()
    ran = client.get(url(acme.id, f"views/{week['id']}/result"), headers=auth(acme.admin), params={"today": "2026-11-05"}).json()
    assert (ran["query"]["start"], ran["query"]["end"]) == ("2026-10-29", "2026-11-05") and ran["totals"] == {"USD": "470.00"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "query": {"group_by": ["Nope"]}}, "query.group_by"),
        ({"name": "x", "query": {"granularity": "hour"}}, "query.granularity"),
        ({"name": "x", "query": {}, "chart": "pie"}, "chart"),
        ({"name": "x", "query": {}, "range": "yesterday-ish"}, "range"),
        ({"name": "x", "query": {}, "allocation_version": "v12"}, "allocation_version"),
    ],
)
def test_bad_views_are_422(client, acme, body, field) -> None:  # type: ignore[no-untyped-def]
    response = client.post(url(acme.id, "views"), headers=auth(acme.admin), json=body)
    assert response.status_code == 422, response.text
    loc = response.json()["detail"][0]["loc"]
    assert field in loc or field in ".".join(map(str, loc)), loc


def test_dashboards_and_ownership(client, acme, make_tenant) -> None:  # type: ignore[no-untyped-def]
    globex = make_tenant("globex")
    mine = client.post(url(acme.id, "views"), headers=auth(acme.member), json=VIEW).json()
    widgets = [
        {"type": "view", "view_id": mine["id"], "display": "table", "width": 12},
        {"type": "metric", "metric": "requests"},
        {"type": "note", "text": "Cost per request should fall after the cache rollout."},
    ]
    created = client.post(url(acme.id, "dashboards"), headers=auth(acme.member), json={"name": "Unit economics", "widgets": widgets})
    assert created.status_code == 201, created.text
    board = created.json()
    assert [w["type"] for w in board["widgets"]] == ["view", "metric", "note"] and board["widgets"][1]["range"] == "last_30_days"
    bad = client.post(url(acme.id, "dashboards"), headers=auth(acme.admin), json={"name": "x", "widgets": [{"type": "view", "view_id": "nope"}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "widgets[0]", "view_id"]  # dotted fields become loc paths (api/errors.py)
    unknown = client.post(url(acme.id, "dashboards"), headers=auth(acme.admin), json={"name": "x", "widgets": [{"type": "metric", "metric": "users"}]})
    assert unknown.status_code == 422
    # another tenant sees nothing and cannot point at this tenant's views
    assert client.get(url(acme.id, f"dashboards/{board['id']}"), headers=auth(globex.admin)).status_code == 404
    assert client.get(url(globex.id, f"views/{mine['id']}"), headers=auth(globex.admin)).status_code == 404
    foreign = client.post(url(globex.id, "dashboards"), headers=auth(globex.admin), json={"name": "x", "widgets": [widgets[0]]})
    assert foreign.status_code == 422
    # an admin made this one: a member may read it but not change it; its author and admins may
    admins = client.post(url(acme.id, "views"), headers=auth(acme.admin), json={**VIEW, "name": "Admin's"}).json()
    assert client.get(url(acme.id, f"views/{admins['id']}"), headers=auth(acme.member)).status_code == 200
    assert client.put(url(acme.id, f"views/{admins['id']}"), headers=auth(acme.member), json={"name": "mine now"}).status_code == 403
    assert client.delete(url(acme.id, f"views/{admins['id']}"), headers=auth(acme.member)).status_code == 403
    renamed = client.put(url(acme.id, f"views/{mine['id']}"), headers=auth(acme.member), json={"name": "Renamed", "range": "last_30_days"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed" and renamed.json()["range"] == "last_30_days"
    assert renamed.json()["query"]["group_by"] == ["tag:team"]
    moved = client.put(url(acme.id, f"dashboards/{board['id']}"), headers=auth(acme.admin), json={"widgets": widgets[::-1]})
    assert [w["type"] for w in moved.json()["widgets"]] == ["note", "metric", "view"]
    assert client.delete(url(acme.id, f"dashboards/{board['id']}"), headers=auth(acme.member)).status_code == 204
    assert client.get(url(acme.id, "dashboards"), headers=auth(acme.admin)).json() == []
