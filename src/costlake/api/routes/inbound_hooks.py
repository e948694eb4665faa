"""POST /api/v1/hooks/{id}: deliveries from GitHub, PagerDuty or any signer. No token: the signature made with the
endpoint's secret is the authentication, and a wrong one is 401 with nothing stored."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from costlake.api.auth import ServicesDep
from costlake.api.responses import answers
from costlake.api.schemas_events import Received
from costlake.catalog.events import find_webhook
from costlake.errors import NotFound
from costlake.events.webhooks import BadSignature, receive

router = APIRouter(prefix="/api/v1/hooks", tags=["events"])
MAX_BODY = 1024 * 1024


@router.post("/{webhook_id}", response_model=Received, responses=answers(404, 413, 422))
async def deliver(webhook_id: str, request: Request, services: ServicesDep) -> Received:
    webhook = await run_in_threadpool(find_webhook, services.catalog, webhook_id)
    if webhook is None:
        raise NotFound(f"no webhook {webhook_id!r}")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, f"the delivery is larger than {MAX_BODY // 1024} KiB")
    try:
        received = await run_in_threadpool(receive, services.catalog, services.settings, webhook, request.headers, body)
    except BadSignature as error:
        raise HTTPException(401, str(error)) from None
    return Received(events=received.stored, ignored=received.ignored)
