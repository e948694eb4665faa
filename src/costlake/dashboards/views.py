"""Saved views and dashboards: what they may hold, relative ranges, and who may change them.

A view's query is a costs/query body (checked by the same model); a `range` such as `last_30_days` replaces its
start and end each time it runs, so a dashboard or a digest always shows recent data. Everyone in the tenant reads
every view and dashboard; members change only their own, admins any.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from costlake.catalog import Catalog, tenant_rows
from costlake.catalog.metrics import find_metric
from costlake.catalog.models import Dashboard, SavedView
from costlake.errors import Forbidden, InvalidInput, NotFound
from costlake.months import add_months, month_of
from costlake.query.model import CostQuery


def range_dates(name: str, today: date) -> tuple[date, date]:
    """[start, end) of a relative range, in whole UTC days up to today (excluded: today is not complete)."""
    this_month = date.fromisoformat(month_of(today) + "-01")
    if name == "month_to_date":
        return this_month, today if today > this_month else today + timedelta(days=1)
    if name.startswith("last_") and name.endswith("_days"):
        return today - timedelta(days=int(name.split("_")[1])), today
    months = {"last_month": 1, "last_3_months": 3, "last_12_months": 12}[name]
    return date.fromisoformat(add_months(month_of(today), -months) + "-01"), this_month


def check_query(query: dict[str, Any], relative: str | None) -> dict[str, Any]:
    """The query in its stored form; errors name the field under `query`."""
    try:
        checked = CostQuery.model_validate(query)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in ("query", *first["loc"]))
        raise InvalidInput(where, f"{where}: {first['msg']}") from None
    stored = checked.model_dump(mode="json", exclude_defaults=False)
    if relative is not None:
        stored.pop("start", None)
        stored.pop("end", None)
        stored["range"] = relative
    else:
        stored["start"], stored["end"] = checked.start.isoformat(), checked.end.isoformat()
    return stored


def view_query(view: SavedView, today: date | None = None) -> CostQuery:
    """The query a view runs today: its relative range resolved."""
    query = dict(view.query)
    relative = query.pop("range", None)
    if relative:
        start, end = range_dates(relative, today or datetime.now(UTC).date())
        query |= {"start": start.isoformat(), "end": end.isoformat()}
    return CostQuery.model_validate(query)


def check_widgets(catalog: Catalog, tenant_id: str, widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Views and metrics a dashboard shows must exist in the tenant."""
    for index, widget in enumerate(widgets):
        if widget["type"] == "view":
            try:
                tenant_rows.get_row(catalog, SavedView, tenant_id, widget["view_id"])
            except NotFound:
                raise InvalidInput(f"widgets[{index}].view_id", f"widgets[{index}]: no saved view {widget['view_id']!r} in this tenant") from None
        elif widget["type"] == "metric" and find_metric(catalog, tenant_id, widget["metric"]) is None:
            raise InvalidInput(f"widgets[{index}].metric", f"widgets[{index}]: no metric {widget['metric']!r} in this tenant")
    return widgets


def check_owner(row: SavedView | Dashboard, token_id: str | None, admin: bool) -> None:
    if not admin and row.created_by != token_id:
        raise Forbidden("members change only the views and dashboards they made; ask its author or an admin")
