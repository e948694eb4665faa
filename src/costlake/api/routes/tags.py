"""/api/v1/tenants/{tenant_id}/tags: the tag inventory and detected variants; members read, admins accept."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from costlake.allocation import suggestions, versions
from costlake.allocation.inventory import inventory
from costlake.api.auth import ServicesDep
from costlake.api.responses import answers
from costlake.api.routes.allocation import READ, WHY, WRITE, EditorDep, draft_out
from costlake.api.routes.costs import ScopeDep
from costlake.api.schemas_allocation import AcceptOut, SuggestionsOut, TagsOut, TagValuesOut
from costlake.catalog.sources import source_names
from costlake.text import money_text

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/tags", tags=["tags"])


@router.get("", response_model=TagsOut, responses=READ, summary="Every tag key: rows, cost, share, values, per provider and source")
def list_tags(scope: ScopeDep, services: ServicesDep) -> dict[str, Any]:
    _, facts = services.allocation.tags.get(scope)
    return {"items": inventory(facts, source_names(services.catalog, scope.tenant_id))}


@router.get("/values", response_model=TagValuesOut, responses=answers(404, 422, why={**WHY, 422: "Bad key or paging"}))
def tag_values(
    scope: ScopeDep,
    services: ServicesDep,
    key: Annotated[str, Query(min_length=1, max_length=256, description="The tag key, exactly as stored")],
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,9}$", description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """The key's values, largest cost first."""
    offset = int(cursor or 0)
    values = services.reader.dimension_values(scope, f"tag:{key}", search=search, limit=limit + 1, offset=offset)
    page = [{"value": str(value), "cost": {c: money_text(v) for c, v in costs.items()}} for value, costs in values[:limit]]
    return {"key": key, "items": page, "next_cursor": str(offset + limit) if len(values) > limit else None}


@router.get("/suggestions", response_model=SuggestionsOut, responses=READ, summary="Detected key and value variants")
def list_suggestions(scope: ScopeDep, services: ServicesDep) -> dict[str, Any]:
    items = suggestions.current(services.catalog, services.allocation.tags, scope)
    return {"items": suggestions.with_accepted(items, versions.get_draft(services.catalog, scope.tenant_id).rules)}


@router.post("/suggestions/{suggestion_id}/accept", response_model=AcceptOut, responses=WRITE)
def accept_suggestion(suggestion_id: str, scope: ScopeDep, who: EditorDep, services: ServicesDep) -> dict[str, Any]:
    """Add the suggestion's rule to the draft (never to the published rules: preview, then publish)."""
    found = suggestions.find(suggestions.current(services.catalog, services.allocation.tags, scope), suggestion_id)
    draft = versions.get_draft(services.catalog, scope.tenant_id)
    rules, dimension = suggestions.accept(draft.rules, found)
    return {**draft_out(versions.save_draft(services.catalog, scope.tenant_id, rules, who)), "dimension": dimension}
