"""/metrics: definitions, JSON and CSV values (all or nothing, errors naming the item or line), who may do what."""

from __future__ import annotations

import pytest

from conftest import auth
from unit_costs_data import load_costs


def base(tenant: str) -> str:
    return f"/api/v1/tenants/{tenant}/metrics"


@pytest.fixture
def acme(client, make_tenant, settings, tmp_path):  # type: ignore[no-untyped-def]
    tenant = make_tenant("acme")
    load_costs(client, settings, tmp_path, tenant.id, tenant.admin)
    response = client.post(base(tenant.id), headers=auth(tenant.admin), json={"name": "requests", "unit": "requests", "aggregation": "sum"})
    assert response.status_code == 201, response.text
    return tenant


def values(client, tenant, token, **params):  # type: ignore[no-untyped-def]
    response = client.get(f"{base(tenant)}/requests/values", headers=auth(token), params=params)
    assert response.status_code == 200, response.text
    return response.json()["values"]


def test_definition_round_trip_and_duplicates(client, acme) -> None:  # type: ignore[no-untyped-def]
    admin = auth(acme.admin)
    listed = client.get(base(acme.id), headers=auth(acme.member)).json()
    assert [(m["name"], m["unit"], m["aggregation"]) for m in listed] == [("requests", "requests", "sum")]
    again = client.post(base(acme.id), headers=admin, json={"name": "requests", "unit": "x"})
    assert again.status_code == 422 and again.json()["detail"][0]["loc"] == ["body", "name"]
    bad = client.post(base(acme.id), headers=admin, json={"name": "users", "unit": "users", "aggregation": "median"})
    assert bad.status_code == 422 and "aggregation" in bad.json()["detail"][0]["loc"]
    updated = client.put(f"{base(acme.id)}/requests", headers=admin, json={"aggregation": "max", "description": "HTTP requests"})
    assert updated.json()["aggregation"] == "max" and updated.json()["description"] == "HTTP requests"
    assert client.delete(f"{base(acme.id)}/requests", headers=admin).status_code == 204
    assert client.get(f"{base(acme.id)}/requests", headers=admin).status_code == 404


def test_json_upsert_and_null_deletes(client, acme) -> None:  # type: ignore[no-untyped-def]
    admin = auth(acme.admin)
    first = client.post(f"{base(acme.id)}/requests/values", headers=admin, json={"values": [
        {"date": "2026-11-02", "value": "1234", "labels": {"team": "payments"}},
        {"date": "2026-11-02", "value": 766, "labels": {"team": "search"}},
        {"date": "2026-11-03", "value": "1000.5", "labels": {"team": "payments"}},
    ]})
    assert first.status_code == 200, first.text
    assert first.json() == {"upserted": 3, "deleted": 0}
    second = client.post(f"{base(acme.id)}/requests/values", headers=admin, json={"values": [
        {"date": "2026-11-02", "value": "1300", "labels": {"team": "payments"}},
        {"date": "2026-11-03", "value": None, "labels": {"team": "payments"}},
        {"date": "2026-11-04", "value": None, "labels": {"team": "payments"}},
    ]})
    assert second.json() == {"upserted": 1, "deleted": 1}
    stored = values(client, acme.id, acme.member, start="2026-11-01", end="2026-12-01")
    assert sorted(stored, key=lambda v: v["labels"]["team"]) == [
        {"date": "2026-11-02", "value": "1300", "labels": {"team": "payments"}},
        {"date": "2026-11-02", "value": "766", "labels": {"team": "search"}},
    ]
    assert values(client, acme.id, acme.member, start="2026-11-03") == []


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"date": "2026-13-01", "value": "1"}, "bad date"),
        ({"date": "2026-11-02", "value": "-5"}, "negative"),
        ({"date": "2026-11-02", "value": "lots"}, "not a number"),
        ({"date": "2026-11-02", "value": 1.5}, "decimal string"),
        ({"date": "2026-11-02", "value": "NaN"}, "finite"),
        ({"date": "2026-11-02", "value": "1", "labels": {"colour": "red"}}, "matches no cost dimension"),
    ],
)
def test_one_bad_item_refuses_the_request_naming_it(client, acme, item, message) -> None:  # type: ignore[no-untyped-def]
    good = {"date": "2026-11-02", "value": "10", "labels": {"team": "payments"}}
    response = client.post(f"{base(acme.id)}/requests/values", headers=auth(acme.admin), json={"values": [good, item]})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "values[1]"] and message in detail["msg"]
    assert values(client, acme.id, acme.admin) == []


def test_labels_may_name_dimensions_and_explicit_tags(client, acme) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"{base(acme.id)}/requests/values", headers=auth(acme.admin), json={"values": [
        {"date": "2026-11-02", "value": "5", "labels": {"ServiceName": "Compute"}},
        {"date": "2026-11-02", "value": "6", "labels": {"tag:owner": "x"}},
    ]})
    assert response.status_code == 200, response.text


def csv_upload(client, tenant, token, text: str):  # type: ignore[no-untyped-def]
    return client.post(f"{base(tenant)}/requests/values.csv", headers={**auth(token), "Content-Type": "text/csv"}, content=text.encode())


def test_csv_upload_and_line_level_errors(client, acme) -> None:  # type: ignore[no-untyped-def]
    ok = csv_upload(client, acme.id, acme.admin, "date,value,team\n2026-11-02,1000,payments\n2026-11-02,500,search\n2026-11-03,900,payments\n")
    assert ok.status_code == 200 and ok.json() == {"upserted": 3, "deleted": 0}
    cases = {
        "date,value,team\n2026-11-05,1,payments\n2026-11-31,2,payments\n": ("line 3", "bad date"),
        "date,value,team\n2026-11-05,-1,payments\n": ("line 2", "negative"),
        "date,value,team\n2026-11-05,abc,payments\n": ("line 2", "not a number"),
        "date,value,team\n2026-11-05,1,payments\n2026-11-06,1,search\n2026-11-05,3,payments\n": ("line 4", "also at line 2"),
        "date,value,colour\n2026-11-05,1,red\n": ("line 2", "matches no cost dimension"),
        "day,amount\n2026-11-05,1\n": ("line 1", "header"),
        "date,value,team\n2026-11-05,1\n": ("line 2", "fields"),
    }
    for text, (line, message) in cases.items():
        response = csv_upload(client, acme.id, acme.admin, text)
        assert response.status_code == 422, (text, response.text)
        detail = response.json()["detail"][0]
        assert detail["loc"] == ["body", line] and message in detail["msg"], (text, detail)
    # nothing from any refused file was stored
    assert len(values(client, acme.id, acme.admin)) == 3
    deleted = csv_upload(client, acme.id, acme.admin, "date,value,team\n2026-11-03,null,payments\n")
    assert deleted.json() == {"upserted": 0, "deleted": 1}


def test_members_read_admins_write_other_tenants_see_nothing(client, acme, make_tenant) -> None:  # type: ignore[no-untyped-def]
    globex = make_tenant("globex")
    member = auth(acme.member)
    writes = [
        client.post(base(acme.id), headers=member, json={"name": "users", "unit": "users"}),
        client.put(f"{base(acme.id)}/requests", headers=member, json={"unit": "calls"}),
        client.delete(f"{base(acme.id)}/requests", headers=member),
        client.post(f"{base(acme.id)}/requests/values", headers=member, json={"values": []}),
        csv_upload(client, acme.id, acme.member, "date,value\n"),
        client.put(f"{base(acme.id)}/requests/pull", headers=member, json={"kind": "prometheus", "url": "http://127.0.0.1:1", "query": "up"}),
    ]
    assert [w.status_code for w in writes] == [403] * len(writes)
    assert "admins" in writes[0].json()["detail"]
    assert client.get(f"{base(acme.id)}/requests/values", headers=member).status_code == 200
    assert client.get(base(acme.id), headers=auth(globex.admin)).status_code == 404
    assert client.get(f"{base(acme.id)}/requests/values", headers=auth(globex.admin)).status_code == 404
