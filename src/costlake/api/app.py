"""The FastAPI application: REST API, plus the scheduler when serving."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from costlake import __version__
from costlake.api.auth import OPERATOR, get_principal
from costlake.api.errors import install_error_handlers
from costlake.api.routes import billing_sources, commitments, costs, me
from costlake.api.services import Services
from costlake.settings import Settings
from costlake.sync.scheduler import Scheduler
from costlake.web import install_console


def create_app(settings: Settings, *, operator: bool = False, schedule: bool = False) -> FastAPI:
    """operator=True serves every request as the operator, without a token: only for the in-process CLI."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.open(settings)
        app.state.services = services
        scheduler = Scheduler(services.runner) if schedule else None
        if scheduler:
            scheduler.start_background()
        try:
            yield
        finally:
            if scheduler:
                scheduler.stop()
            services.close()

    app = FastAPI(title="costlake", version=__version__, lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(me.router)
    app.include_router(billing_sources.router)
    install_console(app)
    app.include_router(costs.router)
    app.include_router(commitments.router)
    if operator:
        app.dependency_overrides[get_principal] = lambda: OPERATOR
    return app
