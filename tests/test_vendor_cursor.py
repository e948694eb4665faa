"""The Cursor connector against a local fake of the Admin API (tests/fakes/cursor.py)."""

from __future__ import annotations

import base64
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pytest_httpserver import HTTPServer

from costlake import schema
from costlake.credentials import Secret
from costlake.errors import InvalidInput
from costlake.formats.registry import vendor
from costlake.formats.vendors import VendorContext, VendorError
from costlake.months import MonthRange
from costlake.settings import Settings
from fakes.cursor import (
    EVENTS_PATH,
    KEY,
    MEMBERS_PATH,
    NOW,
    SPEND_PATH,
    FakeCursor,
    documented_events,
    event,
    ms,
)
from focus_validation import failing_rules, focus_validate, write_focus_csv

# Rule ids the FOCUS 1.2 validator may report as failing, with the reason (docs/connectors/cursor.md).
ALLOWED_FAILURES: dict[str, str] = {
    "InvoiceId-C-005-C": "one alternative of InvoiceId-C-003-C (null OR not null); the events name no invoice, so InvoiceId "
    "is null and the other alternative, InvoiceId-C-004-C, passes",
}
THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000


def open_context(httpserver: HTTPServer, tmp_path: Path, fake: FakeCursor, key: str = KEY, **options: str) -> VendorContext:
    settings = Settings(home=tmp_path, cursor_base_url=httpserver.url_for(""), vendor_max_attempts=3,
                        vendor_max_wait=timedelta(seconds=0.2))
    connector = vendor("cursor")
    return connector.open(settings, options, Secret.parse(key, connector.credential_parts), now=fake.now)


def read(httpserver: HTTPServer, tmp_path: Path, fake: FakeCursor, first: str = "2026-03", **options: str) -> tuple[list[dict[str, Any]], VendorContext]:
    fake.install(httpserver)
    context = open_context(httpserver, tmp_path, fake, **options)
    with context.client:
        batches = list(vendor("cursor").read(context, MonthRange(first=first)))
    rows = pa.Table.from_batches(batches, schema=schema.CONVERTED_SCHEMA).to_pylist()
    for row in rows:
        row["x_Extensions"] = dict(row["x_Extensions"] or [])
    return rows, context


def billed_by_month(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row["x_BillingMonth"]] += row["BilledCost"]
    return dict(totals)


def test_registered_with_its_source_uri() -> None:
    connector = vendor("cursor")
    assert connector.source_uri == "cursor://team"
    assert connector.credential_parts == ("api_key",)


def test_check_makes_one_authenticated_call(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor().install(httpserver)
    context = open_context(httpserver, tmp_path, fake)
    with context.client:
        vendor("cursor").check(context)
    assert len(fake.requests) == 1 and fake.requests[0][0] == MEMBERS_PATH
    auth = httpserver.log[0][0].headers["Authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")).decode() == f"{KEY}:"  # key as username, empty password


def test_wrong_key_is_refused_with_cursors_reason(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor().install(httpserver)
    wrong = "key_" + "0" * 64
    context = open_context(httpserver, tmp_path, fake, key=wrong)
    with context.client, pytest.raises(VendorError) as caught:
        vendor("cursor").check(context)
    message = str(caught.value)
    assert caught.value.status == 401
    assert "Unauthorized" in message and "Admin API key" in message
    assert wrong not in message


def test_monthly_totals_match_the_fake_to_the_cent(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor()
    rows, context = read(httpserver, tmp_path, fake)
    expected = fake.expected_billed_by_month()
    assert set(expected) == {"2026-03", "2026-04", "2026-05"}
    assert billed_by_month(rows) == expected
    assert context.warnings == []  # the events agree with team spend
    # every served event from March on is in exactly one row
    served = [item for item in fake.served() if item.moment >= datetime(2026, 3, 1, tzinfo=UTC)]
    assert sum(int(row["x_Extensions"]["x_UsageEvents"]) for row in rows) == len(served)


def test_requests_stay_within_30_days_and_page_through(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor()
    read(httpserver, tmp_path, fake)
    calls = fake.calls(EVENTS_PATH)
    windows = sorted({(body["startDate"], body["endDate"]) for body in calls})
    assert all(end - start <= THIRTY_DAYS_MS for start, end in windows)
    # the windows tile [March 1, now) without gaps (they share their boundary instant)
    assert windows[0][0] == ms(datetime(2026, 3, 1, tzinfo=UTC))
    assert all(later[0] == earlier[1] for earlier, later in pairwise(windows))
    assert windows[-1][1] == ms(NOW)
    assert max(body["page"] for body in calls) > 2  # the fake caps pages at 40 events
    assert len(fake.calls(SPEND_PATH)) == 2  # four members, two per page


def test_rows_are_daily_and_one_per_user_model_and_kind(httpserver: HTTPServer, tmp_path: Path) -> None:
    rows, _ = read(httpserver, tmp_path, FakeCursor())
    seen = set()
    for row in rows:
        start = row["ChargePeriodStart"]
        assert (start.hour, start.minute, start.second, start.microsecond) == (0, 0, 0, 0)
        assert row["ChargePeriodEnd"] - start == timedelta(days=1)
        assert row["BillingPeriodStart"] == start.replace(day=1)
        extensions = row["x_Extensions"]
        key = (start, row["SubAccountId"], row["SkuId"], extensions["x_Kind"], extensions["x_Billed"], row["ConsumedUnit"],
               extensions.get("x_IsHeadless"))
        assert key not in seen
        seen.add(key)
    assert {row["ConsumedUnit"] for row in rows} == {"Tokens", "Requests"}
    assert any(row["SubAccountId"] is None for row in rows)  # free Bugbot runs without a user


def test_documented_events_map_as_described(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor(events=documented_events(datetime(2026, 5, 4, 9, 0, tzinfo=UTC)))
    rows, context = read(httpserver, tmp_path, fake, first="2026-05")
    assert len(rows) == 2
    token = next(row for row in rows if row["ConsumedUnit"] == "Tokens")
    included = next(row for row in rows if row["ConsumedUnit"] == "Requests")
    # the docs' two usage-based claude-4-opus calls: 20.18232 + 40.16699999999999 cents
    assert token["BilledCost"] == token["EffectiveCost"] == token["ListCost"] == Decimal("0.6034931999999999")
    assert token["x_BilledCostInUsd"] == token["BilledCost"] and token["BillingCurrency"] == "USD"
    assert token["ConsumedQuantity"] == 126 + 450 + 6112 + 11964 + 5805 + 311 + 11964 + 0
    assert token["SkuId"] == "claude-4-opus:max" and token["SubAccountId"] == "developer@company.com"
    assert token["x_Extensions"]["x_InputTokens"] == str(126 + 5805)
    assert token["x_Extensions"]["x_RequestUnits"] == "15"
    assert token["ChargePeriodStart"] == datetime(2026, 5, 4, tzinfo=UTC)
    assert token["ChargeCategory"] == "Usage" and token["ServiceName"] == "Cursor" and token["ProviderName"] == "Cursor"
    # the request-based "Included in Business" call: billed nothing, counted in requests
    assert included["BilledCost"] == included["ListCost"] == 0
    assert included["ConsumedQuantity"] == Decimal("1.4")
    assert included["x_Extensions"]["x_Kind"] == "Included in Business"
    assert included["x_Extensions"]["x_Billed"] == "false"
    assert context.warnings == []


def test_included_and_free_calls_show_list_cost_but_bill_nothing(httpserver: HTTPServer, tmp_path: Path) -> None:
    rng = random.Random(3)
    moment = datetime(2026, 5, 6, 10, 0, tzinfo=UTC)
    events = [event(moment, "lee@company.com", rng, shape) for shape in ("included-token", "free-bugbot", "errored", "charged")]
    rows, _ = read(httpserver, tmp_path, FakeCursor(events=events), first="2026-05")
    by_kind = {(row["x_Extensions"]["x_Kind"], row["x_Extensions"]["x_Billed"]): row for row in rows}
    included = by_kind[("Included in Business", "false")]
    assert included["BilledCost"] == 0 and included["ListCost"] == events[0].included_cents / 100 > 0
    assert by_kind[("Errored, Not Charged", "false")]["BilledCost"] == 0
    assert by_kind[("Usage-based", "false")]["BilledCost"] == 0  # the free Bugbot run
    charged = by_kind[("Usage-based", "true")]
    assert charged["BilledCost"] == charged["ListCost"] == events[3].billed_cents / 100
    assert sum(row["BilledCost"] for row in rows) == events[3].billed_cents / 100


def test_a_partly_expired_month_is_not_loaded(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor()
    assert any(item.moment.month == 2 and item.billed_cents for item in fake.served())  # Cursor still has part of February
    rows, context = read(httpserver, tmp_path, fake, first="2026-02")
    assert "2026-02" not in billed_by_month(rows)
    assert billed_by_month(rows) == fake.expected_billed_by_month()
    assert any("about 90 days" in warning and "2026-03" in warning for warning in context.warnings)


def test_reads_back_to_the_cycle_start_for_the_cross_check_only(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor()  # cycle started 2026-04-27
    rows, context = read(httpserver, tmp_path, fake, first="2026-05")
    assert {row["x_BillingMonth"] for row in rows} == {"2026-05"}
    assert billed_by_month(rows) == {"2026-05": fake.expected_billed_by_month()["2026-05"]}
    assert min(body["startDate"] for body in fake.calls(EVENTS_PATH)) == ms(fake.cycle_start)
    assert context.warnings == []  # April 27-30 counted for the check, so spend and events agree


def test_a_cycle_that_began_in_a_partly_expired_month_is_checked_but_not_loaded(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor(cycle_start=datetime(2026, 2, 25, tzinfo=UTC))
    rows, context = read(httpserver, tmp_path, fake, first="2026-02")
    assert min(body["startDate"] for body in fake.calls(EVENTS_PATH)) == ms(fake.cycle_start)
    assert billed_by_month(rows) == fake.expected_billed_by_month()  # no February rows
    assert [warning for warning in context.warnings if "spend" in warning] == []


def test_spend_more_than_one_percent_apart_warns_and_loads_nothing_from_it(httpserver: HTTPServer, tmp_path: Path) -> None:
    quiet = FakeCursor()
    spend = sum(quiet.member_spend_cents().values())
    fake = FakeCursor(spend_offset_cents=int(spend * Decimal("0.03")))
    rows, context = read(httpserver, tmp_path, fake)
    assert billed_by_month(rows) == fake.expected_billed_by_month()  # spend is never loaded
    (warning,) = context.warnings
    assert "team spend" in warning and "2026-04-27" in warning
    assert f"{(spend + int(spend * Decimal('0.03'))) / 100:.2f} USD" in warning


def test_spend_within_one_percent_is_quiet(httpserver: HTTPServer, tmp_path: Path) -> None:
    spend = sum(FakeCursor().member_spend_cents().values())
    _, context = read(httpserver, tmp_path, FakeCursor(spend_offset_cents=int(spend * Decimal("0.005"))))
    assert context.warnings == []


def test_included_spend_is_taken_off_team_spend(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor(send_included_spend=True)
    included = sum(item.included_cents for item in fake.served() if item.moment >= fake.cycle_start and item.email)
    assert included > sum(fake.member_spend_cents().values()) * Decimal("0.02")  # else this test could not fail
    _, context = read(httpserver, tmp_path, fake)
    assert context.warnings == []


def test_spend_unavailable_warns_and_still_loads(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor()
    fake.fail(SPEND_PATH, 503, times=3)
    rows, context = read(httpserver, tmp_path, fake)
    assert billed_by_month(rows) == fake.expected_billed_by_month()
    (warning,) = context.warnings
    assert "skipped" in warning and "503" in warning


def test_429_with_retry_after_then_success(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor()
    fake.fail(EVENTS_PATH, 429, headers={"Retry-After": "0"})
    rows, context = read(httpserver, tmp_path, fake)
    assert billed_by_month(rows) == fake.expected_billed_by_month()
    first, retried = fake.calls(EVENTS_PATH)[:2]
    assert first == retried
    assert context.warnings == []


def test_5xx_then_success(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor()
    fake.fail(EVENTS_PATH, 502, times=2)
    rows, _ = read(httpserver, tmp_path, fake)
    assert billed_by_month(rows) == fake.expected_billed_by_month()


def test_5xx_that_never_ends_raises(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor()
    fake.fail(EVENTS_PATH, 503, times=10)
    with pytest.raises(VendorError) as caught:
        read(httpserver, tmp_path, fake)
    assert caught.value.status == 503
    assert "after 3 tries" in str(caught.value) and "try again later" in str(caught.value)
    assert len(fake.calls(EVENTS_PATH)) == 3


def test_empty_period(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor(events=[])
    rows, context = read(httpserver, tmp_path, fake)
    assert rows == []
    assert context.warnings == []  # no spend, no events: they agree
    assert fake.calls(EVENTS_PATH)


def test_an_unreadable_timestamp_is_an_error_not_a_silent_loss(httpserver: HTTPServer, tmp_path: Path) -> None:
    broken = event(datetime(2026, 5, 6, tzinfo=UTC), "lee@company.com", random.Random(1), "charged")
    broken.payload["timestamp"] = "yesterday"  # the fake still serves it as an event of May 6
    fake = FakeCursor(events=[broken])
    with pytest.raises(VendorError, match="yesterday.*not epoch milliseconds"):
        read(httpserver, tmp_path, fake, first="2026-05")


def test_an_answer_of_another_shape_is_an_error(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request(EVENTS_PATH, method="POST").respond_with_json({"usageEvents": {"not": "a list"}})
    with pytest.raises(VendorError, match="without a usageEvents list"):
        read(httpserver, tmp_path, FakeCursor())


def test_team_option_labels_the_billing_account(httpserver: HTTPServer, tmp_path: Path) -> None:
    rows, _ = read(httpserver, tmp_path, FakeCursor(), first="2026-05", team="Platform team")
    assert {(row["BillingAccountId"], row["BillingAccountName"]) for row in rows} == {("Platform team", "Platform team")}
    rows, _ = read(httpserver, tmp_path, FakeCursor(), first="2026-05")
    assert {(row["BillingAccountId"], row["BillingAccountName"]) for row in rows} == {("cursor-team", "cursor-team")}


def test_users_are_sub_accounts_named_from_the_member_list(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor()
    rows, _ = read(httpserver, tmp_path, fake, first="2026-05")
    members = {member["email"]: member["name"] for member in fake.members()}
    named = {(row["SubAccountId"], row["SubAccountName"]) for row in rows if row["SubAccountId"]}
    assert named == set(members.items())
    assert {row["SubAccountName"] for row in rows if row["SubAccountId"] is None} == {None}


def test_options_are_checked(tmp_path: Path) -> None:
    connector = vendor("cursor")
    settings = Settings(home=tmp_path)
    secret = Secret.parse(KEY, connector.credential_parts)
    with pytest.raises(InvalidInput, match="team"):
        connector.open(settings, {"site": "eu"}, secret)
    with pytest.raises(InvalidInput, match="1 to 200 characters"):
        connector.open(settings, {"team": "  "}, secret)


def test_output_passes_the_focus_validator(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeCursor().install(httpserver)
    context = open_context(httpserver, tmp_path, fake, team="Platform team")
    with context.client:
        batches = list(vendor("cursor").read(context, MonthRange(first="2026-03")))
    result = focus_validate(write_focus_csv(batches, tmp_path / "cursor.csv"))
    assert "Total:" in result.stdout, result.stdout + result.stderr
    failed = failing_rules(result)
    assert failed - set(ALLOWED_FAILURES) == set(), result.stdout
