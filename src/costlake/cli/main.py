"""The `costlake` command."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer._click import Context  # typer vendors click; TyperGroup.invoke receives this Context
from typer.core import TyperGroup

from costlake.cli import alerts, allocation, billing_sources, costs, dashboards, events, metrics, operator, server
from costlake.cli.client import Connection
from costlake.errors import CostlakeError


class _OneLineErrors(TyperGroup):
    """Errors a person can act on print as one line on stderr with exit 1, not as a traceback."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except CostlakeError as error:
            typer.echo(f"Error: {' '.join(str(error).split())}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_OneLineErrors,
    # Click's plain help: option names are never cut short (rich's panels truncate them at 80 columns), flags show
    # no metavar, and docstring paragraphs still wrap to the terminal.
    rich_markup_mode=None,
    no_args_is_help=True,
    help="costlake: cloud billing exports in FOCUS columns, in a Delta Lake table you own.",
)


@app.callback()
def _connection(
    ctx: typer.Context,
    server_url: Annotated[
        str | None,
        typer.Option("--server", envvar="COSTLAKE_URL", help="A costlake server's URL; without one, the local home."),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="COSTLAKE_TOKEN", help="An API token for --server.")
    ] = None,
) -> None:
    ctx.obj = Connection(server_url, token)


app.command()(operator.init)
app.add_typer(operator.tenant_app, name="tenant")
app.add_typer(operator.token_app, name="token")
app.add_typer(billing_sources.app, name="billing-source")
app.add_typer(costs.app, name="costs")
app.add_typer(allocation.tags_app, name="tags")
app.add_typer(allocation.app, name="allocation")
app.command("data-health")(costs.data_health)
app.add_typer(metrics.app, name="metric")
app.add_typer(events.app, name="event")
app.add_typer(events.webhook_app, name="webhook")
app.add_typer(dashboards.view_app, name="view")
app.add_typer(dashboards.dashboard_app, name="dashboard")
app.add_typer(dashboards.digest_app, name="digest")
app.add_typer(alerts.budget_app, name="budget")
app.add_typer(alerts.alerts_app, name="alerts")
app.add_typer(alerts.channel_app, name="channel")
app.command()(server.serve)
app.command()(server.worker)
app.command()(server.demo)


def main() -> None:
    app()
