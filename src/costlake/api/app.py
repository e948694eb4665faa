"""The REST API's routes and error answers, installed on an app that `costlake.app` composes."""

from __future__ import annotations

from fastapi import FastAPI

from costlake.api.auth import OPERATOR, get_principal
from costlake.api.errors import install_error_handlers
from costlake.api.responses import SIGNED_IN
from costlake.api.routes import (
    allocation,
    anomalies,
    billing_sources,
    budgets,
    channels,
    commitments,
    costs,
    dashboards,
    digests,
    events,
    inbound_hooks,
    me,
    metrics,
    source_kinds,
    tags,
)


def install_api(app: FastAPI, *, operator: bool = False) -> None:
    """operator=True serves every request as the operator, without a token: only for the in-process CLI."""
    install_error_handlers(app)
    for routes in (
        me, source_kinds, billing_sources, costs, commitments, tags, allocation, metrics, events, inbound_hooks, dashboards,
        digests, channels, budgets, anomalies,
    ):
        app.include_router(routes.router, responses=SIGNED_IN)  # every route takes a token (or a signature)
    if operator:
        app.dependency_overrides[get_principal] = lambda: OPERATOR
