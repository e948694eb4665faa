"""The application: the REST API and the console over the same services, plus the scheduler when serving.

This is the composition root: the only module that knows both surfaces (api, web) and the core they share.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from costlake import __version__
from costlake.api.app import install_api
from costlake.services import Services
from costlake.settings import Settings
from costlake.sync.scheduler import Scheduler
from costlake.web import install_console


def create_app(settings: Settings, *, operator: bool = False, schedule: bool = False) -> FastAPI:
    """operator=True serves every request as the operator, without a token: only for the in-process CLI."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.open(settings)
        app.state.services = services
        scheduler = Scheduler(services.runner, services.scheduled_jobs()) if schedule else None
        if scheduler:
            scheduler.start_background()
        try:
            yield
        finally:
            if scheduler:
                scheduler.stop()
            services.close()

    app = FastAPI(title="costlake", version=__version__, lifespan=lifespan)
    install_api(app, operator=operator)
    install_console(app)
    return app
