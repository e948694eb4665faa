"""/api/v1/tenants/{tenant_id}/allocation: allocation rules. Admins edit the draft, publish and restore; members read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path
from pydantic import ValidationError

from costlake.allocation import versions
from costlake.allocation.compile import CompiledRules
from costlake.allocation.preview import preview
from costlake.allocation.rules import RuleSet
from costlake.api.auth import PrincipalDep, ServicesDep, TenantDep
from costlake.api.responses import answers
from costlake.api.routes.costs import ScopeDep
from costlake.api.schemas_allocation import (
    DraftIn,
    DraftOut,
    PreviewIn,
    PreviewOut,
    PublishedOut,
    VersionRulesOut,
    VersionsOut,
)
from costlake.catalog import allocation as rows
from costlake.catalog.models import AllocationVersion
from costlake.errors import Forbidden, InvalidInput
from costlake.query.model import CostQuery

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/allocation", tags=["allocation"])

WHY = {404: "No such tenant for this token", 403: "The token has the member role: admins edit"}
READ = answers(404, why=WHY)
WRITE = answers(403, 404, why=WHY)


def editor(principal: PrincipalDep, tenant: TenantDep) -> str:
    """Who edits (recorded on the draft and versions); members get 403."""
    if not principal.admin:
        raise Forbidden("allocation rules are edited by the tenant's admins; this token has the member role (it may read them)")
    return principal.token_id or "operator"


EditorDep = Annotated[str, Depends(editor)]
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="A published version's number")]


def draft_out(draft: versions.Draft) -> dict[str, Any]:
    return {"dimensions": draft.rules.dimensions, "base_version": draft.base_version, "updated_at": draft.updated_at}


def version_out(version: AllocationVersion, latest: int | None) -> dict[str, Any]:
    return {
        "version": version.number,
        "published_at": version.published_at,
        "published_by": version.published_by,
        "current": version.number == latest,
        "dimensions": [dimension["name"] for dimension in version.rules.get("dimensions", [])],
    }


@router.get("/draft", response_model=DraftOut, responses=READ, summary="The draft rules (the published ones until edited)")
def get_draft(tenant: TenantDep, services: ServicesDep) -> dict[str, Any]:
    return draft_out(versions.get_draft(services.catalog, tenant.id))


@router.put("/draft", response_model=DraftOut, responses=answers(403, 404, 422, why={**WHY, 422: "Invalid rules, naming the field"}))
def put_draft(body: DraftIn, tenant: TenantDep, who: EditorDep, services: ServicesDep) -> dict[str, Any]:
    rules = RuleSet(dimensions=body.dimensions)
    return draft_out(versions.save_draft(services.catalog, tenant.id, RuleSet.model_validate(rules.document()), who))


@router.post("/preview", response_model=PreviewOut, responses=answers(404, 422, why={**WHY, 422: "Invalid rules or dates"}))
def post_preview(scope: ScopeDep, services: ServicesDep, body: Annotated[PreviewIn | None, Body()] = None) -> dict[str, Any]:
    """For the draft (or the rules in the body) against the published version: cost per value before, after and
    the delta, and each dimension's coverage, over `start`/`end` (default: the last 3 months)."""
    body = body or PreviewIn()
    if body.dimensions is not None:
        draft = versions.compile_rules(RuleSet.model_validate(RuleSet(dimensions=body.dimensions).document()))
    else:
        draft = versions.compile_rules(versions.get_draft(services.catalog, scope.tenant_id).rules)
    try:
        window = CostQuery.model_validate({name: day for name, day in (("start", body.start), ("end", body.end)) if day is not None})
    except ValidationError as error:
        raise InvalidInput("end", "; ".join(e["msg"] for e in error.errors())) from None
    published: CompiledRules | None = services.allocation.plans.get(scope.tenant_id)
    resolve = services.allocation.resolved
    return preview(services.reader, scope, resolve(scope, draft), published and resolve(scope, published), window.start, window.end)


@router.post("/publish", response_model=PublishedOut, responses=answers(403, 404, 409, 422, why={**WHY, 409: "Nothing to publish", 422: "Invalid draft"}))
def publish(tenant: TenantDep, who: EditorDep, services: ServicesDep) -> dict[str, Any]:
    """Make the draft the version queries use (a new version number; every version is kept)."""
    version = versions.publish(services.catalog, tenant.id, who)
    return {"version": version.number, "published_at": version.published_at}


@router.get("/versions", response_model=VersionsOut, responses=READ, summary="Published versions, newest first")
def list_versions(tenant: TenantDep, services: ServicesDep) -> dict[str, Any]:
    found = rows.list_versions(services.catalog, tenant.id)
    latest = found[0].number if found else None
    return {"items": [version_out(version, latest) for version in found]}


@router.get("/versions/{number}", response_model=VersionRulesOut, responses=READ, summary="One version with its rules")
def get_version(number: VersionNumber, tenant: TenantDep, services: ServicesDep) -> dict[str, Any]:
    version = versions.version(services.catalog, tenant.id, number)
    return {**version_out(version, rows.latest_number(services.catalog, tenant.id)), "rules": version.rules}


@router.post("/versions/{number}/restore", response_model=DraftOut, responses=WRITE, summary="Make a version the draft again")
def restore(number: VersionNumber, tenant: TenantDep, who: EditorDep, services: ServicesDep) -> dict[str, Any]:
    return draft_out(versions.restore(services.catalog, tenant.id, number, who))
