"""Pieces every command group shares."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from costlake.errors import CostlakeError
from costlake.settings import Settings, load_settings

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The tenant's id or name.")]


def current_settings() -> Settings:
    """The COSTLAKE_* settings; a bad value is the operator's to fix, so it is reported in one line."""
    try:
        return load_settings()
    except ValidationError as error:
        problems = "; ".join(f"COSTLAKE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        raise CostlakeError(f"invalid setting: {problems}") from None
