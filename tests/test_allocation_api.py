"""Allocation rules through the REST API, on SQLite and PostgreSQL: each rule kind, precedence, fallback, splits,
validation, versions and pinning, who may edit, and tenant isolation. Expected figures are worked out by hand from
the rows below."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import auth, sync_and_wait
from costlake.months import current_month
from focus_files import focus_row, write_csv

NOW = current_month()


def row(cost: str, tags: dict[str, str] | None, *, provider: str = "AWS", service: str = "Compute", currency: str = "USD") -> dict[str, str]:
    return focus_row(NOW, cost, currency=currency, service=service, ProviderName=provider, Tags=json.dumps(tags) if tags is not None else "")


ROWS = [
    row("10.00", {"Team": " Payments "}),
    row("30.00", {"team": "search", "env": "prod"}),
    row("1.00", None, service="Support"),  # untagged shared cost
    row("5.00", None, provider="Anthropic", service="Claude"),
    row("4.00", {"cost-center": "CC-1"}, provider="Google Cloud", service="BigQuery"),
    row("2.00", {"owner-team": "payments-team"}),
    row("7.00", {"team": "payments"}, currency="EUR"),
    row("-3.00", {"team": "refunds"}, currency="JPY"),
    row("2.00", None, service="Support", currency="JPY"),
]

TEAM = {
    "name": "team",
    "rules": [
        {"coalesce": ["team", "owner-team"], "flexible": True, "transform": ["trim", "lower"], "map": {"payments-team": "payments"}},
        {"when": [{"dimension": "ProviderName", "op": "eq", "values": ["Anthropic"]}], "value": "ml-platform"},
        {"from_dimension": "cost_center", "map": {"CC-1": "data"}},
    ],
}
COST_CENTER = {"name": "cost_center", "fallback": "none", "rules": [{"coalesce": ["cost-center"]}]}


@pytest.fixture
def acme(operator_client, make_tenant, tmp_path: Path):  # type: ignore[no-untyped-def]
    tenant = make_tenant("acme")
    write_csv(tmp_path / "export" / "rows.csv", ROWS)
    source = operator_client.post("/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": str(tmp_path / "export")}).json()
    assert sync_and_wait(operator_client, "acme", source["id"])["status"] == "succeeded"
    return tenant


def base(tenant: str) -> str:
    return f"/api/v1/tenants/{tenant}"


def put_draft(client, token: str, dimensions: list[dict[str, Any]], tenant: str = "acme") -> Any:  # type: ignore[no-untyped-def]
    return client.put(f"{base(tenant)}/allocation/draft", headers=auth(token), json={"dimensions": dimensions})


def publish(client, token: str, dimensions: list[dict[str, Any]], tenant: str = "acme") -> int:  # type: ignore[no-untyped-def]
    saved = put_draft(client, token, dimensions, tenant)
    assert saved.status_code == 200, saved.text
    published = client.post(f"{base(tenant)}/allocation/publish", headers=auth(token))
    assert published.status_code == 200, published.text
    return published.json()["version"]


def by_value(client, token: str, dimension: str = "dim:team", **body: Any) -> tuple[dict[tuple[str, str], Decimal], dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = client.post(f"{base('acme')}/costs/query", headers=auth(token), json={"granularity": "none", "group_by": [dimension], **body})
    assert response.status_code == 200, response.text
    result = response.json()
    return {(r[dimension], r["currency"]): Decimal(r["cost"]) for r in result["rows"]}, result


RAW_TOTALS = {"USD": Decimal("52.00"), "EUR": Decimal("7.00"), "JPY": Decimal("-1.00")}


def test_each_rule_kind_with_precedence_and_fallback(client, acme) -> None:  # type: ignore[no-untyped-def]
    publish(client, acme.admin, [TEAM, COST_CENTER])
    costs, result = by_value(client, acme.member)
    assert costs == {
        ("payments", "USD"): Decimal("12.00"),  # " Payments " trimmed and lowered (Team, flexibly) + owner-team mapped
        ("search", "USD"): Decimal("30.00"),
        ("ml-platform", "USD"): Decimal("5.00"),  # condition rule
        ("data", "USD"): Decimal("4.00"),  # inherited from cost_center, mapped
        ("Unallocated", "USD"): Decimal("1.00"),  # the fallback bucket
        ("payments", "EUR"): Decimal("7.00"),
        ("refunds", "JPY"): Decimal("-3.00"),
        ("Unallocated", "JPY"): Decimal("2.00"),
    }
    assert result["allocation_version"] == 1 and result["warnings"] == []
    assert {c: Decimal(v) for c, v in result["totals"].items()} == RAW_TOTALS
    centers, _ = by_value(client, acme.member, "dim:cost_center")
    assert centers[("CC-1", "USD")] == Decimal("4.00") and centers[("none", "USD")] == Decimal("48.00")

    # First match wins: a condition rule placed first takes the rows it matches from the coalesce rule.
    first = {"when": [{"dimension": "tag:env", "op": "eq", "values": ["prod"]}, {"dimension": "ServiceName", "op": "contains", "values": ["comp"]}], "value": "platform"}
    publish(client, acme.admin, [{**TEAM, "rules": [first, *TEAM["rules"]]}, COST_CENTER])
    costs, _ = by_value(client, acme.member)
    assert costs[("platform", "USD")] == Decimal("30.00") and ("search", "USD") not in costs


def test_group_and_filter_by_dimensions_with_other_columns(client, acme) -> None:  # type: ignore[no-untyped-def]
    publish(client, acme.admin, [TEAM, COST_CENTER])
    response = client.post(f"{base('acme')}/costs/query", headers=auth(acme.member), json={
        "granularity": "month", "group_by": ["ServiceName", "dim:team"],
        "filters": [{"dimension": "dim:team", "op": "in", "values": ["payments", "Unallocated"]}, {"dimension": "ProviderName", "op": "eq", "values": ["AWS"]}],
    })
    assert response.status_code == 200, response.text
    got = {(r["ServiceName"], r["dim:team"], r["currency"]): Decimal(r["cost"]) for r in response.json()["rows"]}
    assert got == {
        ("Compute", "payments", "USD"): Decimal("12.00"), ("Support", "Unallocated", "USD"): Decimal("1.00"),
        ("Compute", "payments", "EUR"): Decimal("7.00"), ("Support", "Unallocated", "JPY"): Decimal("2.00"),
    }
    top = client.post(f"{base('acme')}/costs/query", headers=auth(acme.member), json={"granularity": "none", "group_by": ["dim:team"], "top": 1}).json()
    assert {c: Decimal(v) for c, v in top["totals"].items()} == RAW_TOTALS and any(r["other"] for r in top["rows"])
    values = client.get(f"{base('acme')}/costs/dimension-values", headers=auth(acme.member), params={"dimension": "dim:team", "limit": 2}).json()
    assert [v["value"] for v in values["values"]] == ["search", "payments"] and values["next_cursor"] == "2"
    dimensions = client.get(f"{base('acme')}/costs/dimensions", headers=auth(acme.member)).json()
    assert {"name": "dim:team", "label": "team"} in dimensions["dimensions"]
    coverage = {d["name"]: d["coverage"] for d in dimensions["allocation"]["dimensions"]}
    # team: all but Support (1 USD, 2 JPY) of the absolute costs (64), as a share
    assert coverage["team"] == pytest.approx(float(Decimal(61) / Decimal(64)), abs=1e-4)
    health = client.get(f"{base('acme')}/data-health", headers=auth(acme.member)).json()
    assert health["allocation"]["version"] == 1 and {d["name"] for d in health["allocation"]["dimensions"]} == {"team", "cost_center"}


def test_splits_conserve_money_per_currency_and_say_when_they_fall_back(client, acme) -> None:  # type: ignore[no-untyped-def]
    shared = {"when": [{"dimension": "ServiceName", "op": "eq", "values": ["Support"]}], "method": "proportional", "granularity": "month"}
    publish(client, acme.admin, [{**TEAM, "splits": [shared]}, COST_CENTER])
    costs, result = by_value(client, acme.member)
    assert {c: Decimal(v) for c, v in result["totals"].items()} == RAW_TOTALS
    assert ("Unallocated", "USD") not in costs  # 1.00 USD spread over payments 12, search 30, ml-platform 5, data 4 (of 51)
    spread = {value: costs[(value, "USD")] - own for value, own in (("payments", 12), ("search", 30), ("ml-platform", 5), ("data", 4))}
    assert sum(spread.values()) == Decimal("1.00")
    assert abs(spread["search"] - Decimal(30) / Decimal(51)) < Decimal("1e-8")
    # JPY: the only JPY value (refunds) has a negative cost, so no positive weight: spread evenly, and said so
    jpy = {value: amount for (value, currency), amount in costs.items() if currency == "JPY"}
    assert sum(jpy.values()) == Decimal("-1.00") and set(jpy) == {"refunds", "payments", "search", "ml-platform", "data"}
    assert any("spread evenly instead" in warning and "split 1 (proportional" in warning for warning in result["warnings"])

    fixed = {"when": [{"dimension": "dim:team", "op": "eq", "values": ["Unallocated"]}], "method": "fixed", "weights": {"payments": "60", "search": "40"}, "name": "untagged"}
    publish(client, acme.admin, [{**TEAM, "splits": [fixed]}, COST_CENTER])
    costs, result = by_value(client, acme.member)
    assert costs[("payments", "USD")] == Decimal("12.60") and costs[("search", "USD")] == Decimal("30.40")
    # the rows a split moved say which rule moved them
    moved = client.post(f"{base('acme')}/costs/query", headers=auth(acme.member),
                        json={"granularity": "none", "group_by": ["dim:team", "dim:team.split"], "filters": [{"dimension": "dim:team.split", "op": "ne", "values": ["direct"]}]}).json()
    assert {(r["dim:team"], r["dim:team.split"], r["currency"]): r["cost"] for r in moved["rows"]} == {
        ("payments", "untagged", "USD"): "0.60", ("search", "untagged", "USD"): "0.40", ("payments", "untagged", "JPY"): "1.20", ("search", "untagged", "JPY"): "0.80",
    }
    assert costs[("payments", "JPY")] == Decimal("1.20") and costs[("search", "JPY")] == Decimal("0.80")
    assert {c: Decimal(v) for c, v in result["totals"].items()} == RAW_TOTALS and result["warnings"] == []

    even = {"when": [{"dimension": "ServiceName", "op": "eq", "values": ["Support"]}], "method": "even", "over": [{"dimension": "ProviderName", "op": "eq", "values": ["AWS"]}]}
    publish(client, acme.admin, [{**TEAM, "splits": [even]}, COST_CENTER])
    costs, _ = by_value(client, acme.member)
    # over AWS rows only: payments, search, refunds; 1.00 USD / 3 -> the remainder goes to the largest share
    thirds = [costs[(v, "USD")] - own for v, own in (("payments", 12), ("search", 30))] + [costs.get(("refunds", "USD"), Decimal(0))]
    assert sum(thirds) == Decimal("1.00") and sorted(thirds) == [Decimal("0.333333333"), Decimal("0.333333333"), Decimal("0.333333334")]


@pytest.mark.parametrize(
    ("dimensions", "loc"),
    [
        ([TEAM], ["body", "dimensions", 0, "rules", 2, "from_dimension"]),  # cost_center is not defined
        ([COST_CENTER, {**COST_CENTER}], ["body", "dimensions", 1, "name"]),
        ([{"name": "a", "rules": [{"from_dimension": "b"}]}, {"name": "b", "rules": [{"when": [{"dimension": "dim:a", "values": ["x"]}], "value": "y"}]}], ["body", "dimensions", 0, "rules"]),
        ([{"name": "a", "rules": [{"when": [{"dimension": "NoSuchColumn", "values": ["x"]}], "value": "y"}]}], ["body", "dimensions", 0, "rules", 0, "when", "when", 0, "dimension"]),
        ([{"name": "a", "rules": [{"coalesce": ["k"], "transform": [{"regex_extract": "(?<=a)b"}]}]}], ["body", "dimensions", 0, "rules", 0, "coalesce", "transform", 0, "RegexExtract", "regex_extract"]),
        ([{"name": "a", "splits": [{"when": [{"dimension": "ServiceName", "values": ["x"]}], "method": "fixed"}]}], ["body", "dimensions", 0, "splits", 0]),
        ([{"name": "9lives"}], ["body", "dimensions", 0, "name"]),
        ([{"name": "a", "rules": [{"value": "x"}]}], ["body", "dimensions", 0, "rules", 0]),
        # A weight past the decimal context's 28 digits (found by the fuzzer: it answered 500).
        ([{"name": "a", "splits": [{"when": [{"dimension": "ServiceName", "values": ["x"]}], "method": "fixed", "weights": {"x": "1" + "0" * 22}}]}],
         ["body", "dimensions", 0, "splits", 0, "weights"]),
    ],
)
def test_invalid_rules_are_422_naming_the_field(client, make_tenant, dimensions, loc) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    response = put_draft(client, acme.admin, dimensions)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc, response.json()
    assert client.get(f"{base('acme')}/allocation/draft", headers=auth(acme.admin)).json()["dimensions"] == []  # nothing saved


def test_versions_publish_restore_and_pinning(client, acme) -> None:  # type: ignore[no-untyped-def]
    assert client.post(f"{base('acme')}/allocation/publish", headers=auth(acme.admin)).status_code == 409  # empty draft
    first = publish(client, acme.admin, [TEAM, COST_CENTER])
    again = client.post(f"{base('acme')}/allocation/publish", headers=auth(acme.admin))
    assert again.status_code == 409 and "same as the published version 1" in again.json()["detail"]
    renamed = {**TEAM, "rules": [{"when": [{"dimension": "ProviderName", "values": ["AWS"]}], "value": "aws-team"}]}
    second = publish(client, acme.admin, [renamed, COST_CENTER])
    assert (first, second) == (1, 2)
    listed = client.get(f"{base('acme')}/allocation/versions", headers=auth(acme.member)).json()["items"]
    assert [(v["version"], v["current"], v["dimensions"]) for v in listed] == [(2, True, ["team", "cost_center"]), (1, False, ["team", "cost_center"])]

    latest, result = by_value(client, acme.member)
    pinned, pinned_result = by_value(client, acme.member, allocation_version=1)
    assert latest[("aws-team", "USD")] == Decimal("43.00") and result["allocation_version"] == 2
    assert pinned[("search", "USD")] == Decimal("30.00") and pinned_result["allocation_version"] == 1
    missing = client.post(f"{base('acme')}/costs/query", headers=auth(acme.member), json={"group_by": ["dim:team"], "allocation_version": 9})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "allocation_version"]

    restored = client.post(f"{base('acme')}/allocation/versions/1/restore", headers=auth(acme.admin))
    assert restored.status_code == 200 and restored.json()["base_version"] == 1
    draft = client.get(f"{base('acme')}/allocation/draft", headers=auth(acme.member)).json()
    assert draft["dimensions"][0]["rules"][0]["coalesce"] == ["team", "owner-team"]
    assert by_value(client, acme.member)[1]["allocation_version"] == 2  # restoring does not publish
    assert publish(client, acme.admin, draft["dimensions"]) == 3
    assert by_value(client, acme.member)[0] == pinned
    assert client.get(f"{base('acme')}/allocation/versions/7", headers=auth(acme.member)).status_code == 404


def test_preview_shows_what_moves_and_coverage(client, acme) -> None:  # type: ignore[no-untyped-def]
    publish(client, acme.admin, [COST_CENTER])
    unused = {"when": [{"dimension": "ServiceName", "values": ["Storage"]}], "method": "proportional"}  # matches no row
    put_draft(client, acme.admin, [{**TEAM, "splits": [unused]}, COST_CENTER])
    response = client.post(f"{base('acme')}/allocation/preview", headers=auth(acme.member), json={})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["published_version"] == 1
    dimensions = {d["name"]: d for d in result["dimensions"]}
    team = dimensions["team"]
    assert team["coverage_before"] == 0.0 and team["coverage_after"] == pytest.approx(61 / 64, abs=1e-4)
    values = {v["value"]: v for v in team["values"]}
    assert values["payments"]["before"] == {} and values["payments"]["after"] == {"EUR": "7.00", "USD": "12.00"}
    assert values["payments"]["delta"] == {"EUR": "7.00", "USD": "12.00"}
    unchanged = {v["value"]: v["delta"] for v in dimensions["cost_center"]["values"]}
    assert unchanged["CC-1"] == {"USD": "0.00"}
    backwards = client.post(f"{base('acme')}/allocation/preview", headers=auth(acme.member), json={"start": "2026-10-01", "end": "2026-09-01"})
    assert backwards.status_code == 422 and backwards.json()["detail"][0]["loc"] == ["body", "end"]
    # rules in the body are previewed without being saved
    other = client.post(f"{base('acme')}/allocation/preview", headers=auth(acme.admin), json={"dimensions": [COST_CENTER]}).json()
    assert [d["name"] for d in other["dimensions"]] == ["cost_center"]
    assert client.get(f"{base('acme')}/allocation/draft", headers=auth(acme.admin)).json()["dimensions"][0]["name"] == "team"


def test_members_read_admins_write(client, acme) -> None:  # type: ignore[no-untyped-def]
    publish(client, acme.admin, [TEAM, COST_CENTER])
    member = auth(acme.member)
    writes = [
        client.put(f"{base('acme')}/allocation/draft", headers=member, json={"dimensions": []}),
        client.post(f"{base('acme')}/allocation/publish", headers=member),
        client.post(f"{base('acme')}/allocation/versions/1/restore", headers=member),
        client.post(f"{base('acme')}/tags/suggestions/mk-000000000000/accept", headers=member),
    ]
    assert [w.status_code for w in writes] == [403] * 4 and "admins" in writes[0].json()["detail"]
    reads = [
        client.get(f"{base('acme')}/allocation/draft", headers=member),
        client.get(f"{base('acme')}/allocation/versions", headers=member),
        client.get(f"{base('acme')}/allocation/versions/1", headers=member),
        client.post(f"{base('acme')}/allocation/preview", headers=member, json={}),
        client.get(f"{base('acme')}/tags", headers=member),
        client.get(f"{base('acme')}/tags/suggestions", headers=member),
    ]
    assert [r.status_code for r in reads] == [200] * 6


def test_tenants_never_see_each_others_rules(client, acme, make_tenant) -> None:  # type: ignore[no-untyped-def]
    globex = make_tenant("globex")
    publish(client, acme.admin, [TEAM, COST_CENTER])
    unknown = client.post(f"{base('globex')}/costs/query", headers=auth(globex.admin), json={"group_by": ["dim:team"]})
    assert unknown.status_code == 422 and "dim:team" in unknown.json()["detail"][0]["msg"] and "no allocation rules" in unknown.json()["detail"][0]["msg"]
    assert client.get(f"{base('acme')}/allocation/draft", headers=auth(globex.admin)).status_code == 404
    assert client.put(f"{base('acme')}/allocation/draft", headers=auth(globex.admin), json={"dimensions": []}).status_code == 404
    assert publish(client, globex.admin, [{"name": "team", "rules": [{"when": [{"dimension": "ProviderName", "values": ["AWS"]}], "value": "globex"}]}], "globex") == 1
    costs, _ = by_value(client, acme.member)
    assert ("globex", "USD") not in costs and costs[("search", "USD")] == Decimal("30.00")
    assert client.get(f"{base('globex')}/allocation/versions", headers=auth(globex.admin)).json()["items"][0]["version"] == 1
    empty = client.post(f"{base('globex')}/costs/query", headers=auth(globex.admin), json={"group_by": ["dim:team"]}).json()
    assert empty["rows"] == []  # globex's own (empty) table, under its own rules
    other = client.post(f"{base('acme')}/costs/query", headers=auth(acme.admin), json={"group_by": ["dim:nope"]})
    assert other.status_code == 422 and "dim:nope" in other.json()["detail"][0]["msg"]
    filtered = client.post(f"{base('acme')}/costs/query", headers=auth(acme.admin), json={"filters": [{"dimension": "dim:nope", "op": "missing"}]})
    assert filtered.status_code == 422 and filtered.json()["detail"][0]["loc"] == ["body", "filters"]


def test_inventory_suggestions_and_accepting_them(client, acme) -> None:  # type: ignore[no-untyped-def]
    tags = {item["key"]: item for item in client.get(f"{base('acme')}/tags", headers=auth(acme.member)).json()["items"]}
    assert set(tags) == {"Team", "team", "env", "cost-center", "owner-team"}
    team = tags["team"]
    assert team["rows"] == 3 and team["cost"] == {"EUR": "7.00", "JPY": "-3.00", "USD": "30.00"} and team["distinct_values"] == 3
    assert team["providers"] == ["AWS"] and team["share"] == pytest.approx(40 / 64, abs=1e-4)
    assert tags["cost-center"]["providers"] == ["Google Cloud"] and tags["cost-center"]["sources"][0]["rows"] == 1
    values = client.get(f"{base('acme')}/tags/values", headers=auth(acme.member), params={"key": "team"}).json()
    assert [v["value"] for v in values["items"]] == ["search", "payments", "refunds"]

    found = client.get(f"{base('acme')}/tags/suggestions", headers=auth(acme.member)).json()["items"]
    keys = next(s for s in found if s["kind"] == "merge_keys")
    assert keys["variants"] == ["team", "Team"] and keys["canonical"] == "team"
    assert keys["coverage_before"] == pytest.approx(40 / 64, abs=1e-4) and keys["coverage_after"] == pytest.approx(50 / 64, abs=1e-4)
    assert keys["cost"] == {"EUR": "7.00", "JPY": "-3.00", "USD": "40.00"}
    values = next(s for s in found if s["kind"] == "merge_values")
    # " Payments " carries more cost (10) than "payments" (7): the most used spelling, trimmed, is the canonical one
    assert values["key"] == "team" and values["variants"] == [" Payments ", "payments"] and values["canonical"] == "Payments"
    assert values["coverage_before"] < values["coverage_after"]
    assert not keys["accepted"] and not values["accepted"]

    accepted = client.post(f"{base('acme')}/tags/suggestions/{keys['id']}/accept", headers=auth(acme.admin))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["dimension"] == "team" and accepted.json()["dimensions"][0]["rules"] == [
        {"coalesce": ["team", "Team"], "flexible": False, "transform": [], "map": {}}
    ]
    mapped = client.post(f"{base('acme')}/tags/suggestions/{values['id']}/accept", headers=auth(acme.admin)).json()
    assert mapped["dimensions"][0]["rules"][0]["map"] == {" Payments ": "Payments", "payments": "Payments"}
    assert client.get(f"{base('acme')}/allocation/versions", headers=auth(acme.admin)).json()["items"] == []  # never published silently
    listed = client.get(f"{base('acme')}/tags/suggestions", headers=auth(acme.member)).json()["items"]
    assert {s["id"]: s["accepted"] for s in listed if s["id"] in (keys["id"], values["id"])} == {keys["id"]: True, values["id"]: True}
    publish(client, acme.admin, mapped["dimensions"])
    costs, _ = by_value(client, acme.member)
    assert costs[("Payments", "USD")] == Decimal("10.00") and costs[("Payments", "EUR")] == Decimal("7.00")
    assert costs[("Unallocated", "USD")] == Decimal("12.00")  # Support, Anthropic, GCP and owner-team rows: no team key
    assert client.post(f"{base('acme')}/tags/suggestions/mk-nope/accept", headers=auth(acme.admin)).status_code == 404


def test_suggestions_are_refreshed_after_each_sync_and_on_demand_when_stale(settings, make_tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from costlake.allocation import suggestions
    from costlake.catalog import allocation as allocation_rows
    from costlake.query.scope import Scope
    from costlake.services import Services
    from costlake.sync.scheduler import Scheduler

    acme = make_tenant("acme")
    write_csv(tmp_path / "export" / "a.csv", [row("1.00", {"Team": "a"}), row("2.00", {"team": "a"})])
    services = Services.open(settings)
    try:
        source = services.runner.start(_source(services, acme.id, tmp_path / "export"))
        _wait(services, source.source_id)
        assert allocation_rows.get_suggestions(services.catalog, acme.id) is None  # the handler runs in the worker
        Scheduler(services.runner).tick()
        stored = allocation_rows.get_suggestions(services.catalog, acme.id)
        assert stored is not None and [item["variants"] for item in stored.items] == [["team", "Team"]]
        assert stored.table_version == services.allocation.tags.table_version(Scope(acme.id))
        assert suggestions.current(services.catalog, services.allocation.tags, Scope(acme.id)) == stored.items

        # A new sync whose handler has not run yet: asking computes them for the new table version at once.
        write_csv(tmp_path / "export" / "a.csv", [row("1.00", {"Team": "a"}), row("2.00", {"team": "a"}), row("3.00", {"TEAM": "b"})])
        services.runner.start(_source(services, acme.id, tmp_path / "export", existing=source.source_id))
        _wait(services, source.source_id)
        items = suggestions.current(services.catalog, services.allocation.tags, Scope(acme.id))
        assert [item["variants"] for item in items if item["kind"] == "merge_keys"] == [["TEAM", "team", "Team"]]
        assert allocation_rows.get_suggestions(services.catalog, acme.id).table_version == stored.table_version + 1
    finally:
        services.close()


def _source(services, tenant_id: str, folder: Path, existing: str | None = None):  # type: ignore[no-untyped-def]
    from costlake.catalog import sources as source_rows
    from costlake.catalog.models import BillingSource

    if existing is not None:
        return source_rows.get_source(services.catalog, tenant_id, existing)
    return source_rows.insert_source(services.catalog, BillingSource(tenant_id=tenant_id, name="f", provider="aws", format="focus", source_uri=str(folder), uri_by_operator=True))


def _wait(services, source_id: str) -> None:  # type: ignore[no-untyped-def]
    import time

    from costlake.catalog.runs import list_runs

    deadline = time.monotonic() + 30
    while list_runs(services.catalog, source_id, limit=1, cursor=None)[0][0].status in ("queued", "running"):
        assert time.monotonic() < deadline, "sync did not finish"
        time.sleep(0.05)
