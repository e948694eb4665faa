"""Following a sync run from the terminal: its progress while it runs, what Ctrl-C does, and cancelling it.

In local mode (no server) the sync runs in this process, so Ctrl-C cancels it: the run stops before its commit and
nothing changes. Against a server, Ctrl-C only stops watching: the run goes on there, and the message says how to
cancel it.
"""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from costlake.cli.client import ApiClient, ApiError
from costlake.cli.output import plural, stderr

POLL_SECONDS = 0.5
INTERRUPTED = 130  # the shell's exit status for a command stopped by SIGINT


def describe(run: dict[str, Any]) -> str:
    """"writing · 3/12 files · 120,000 rows · 2 months" from the run's progress."""
    progress = run.get("progress") or {}
    parts = [progress.get("phase", "starting")]
    if progress.get("files"):
        parts.append(f"{progress.get('files_read', 0)}/{progress['files']} files")
    parts.append(plural(progress.get("rows", 0), "row"))
    if progress.get("months"):
        parts.append(plural(len(progress["months"]), "month"))
    return " · ".join(parts)


def wait_for_run(api: ApiClient, path: str, run: dict[str, Any], label: str) -> dict[str, Any]:
    """Poll the run until it is no longer running; on a terminal, its phase, files, rows and months as it goes."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=stderr, transient=True, disable=not stderr.is_terminal) as progress:
        task = progress.add_task(f"Syncing {label}", total=None)
        while run["status"] in ("queued", "running"):
            time.sleep(POLL_SECONDS)
            run = api.get(f"{path}/syncs/{run['id']}")
            progress.update(task, description=f"Syncing {label}: {describe(run)}")
    return run


def cancel_command(tenant: str, source: str, run_id: str) -> str:
    return f"costlake billing-source cancel --tenant {tenant} {source} {run_id}"


def follow(api: ApiClient, path: str, run: dict[str, Any], label: str, cancel_hint: str) -> dict[str, Any]:
    """Wait for the run. Ctrl-C in local mode cancels it and waits for it to stop; against a server it stops
    watching and says how to cancel. Either way the command then exits 130."""
    try:
        return wait_for_run(api, path, run, label)
    except KeyboardInterrupt:
        if not api.local:
            typer.echo(
                f"\nStopped watching. The sync goes on on the server (run {run['id']}); "
                f"cancel it with: {cancel_hint}",
                err=True,
            )
            raise typer.Exit(INTERRUPTED) from None
    typer.echo("\ncancelling…", err=True, nl=False)
    try:
        api.post(f"{path}/syncs/{run['id']}/cancel")
    except ApiError as error:
        if error.status != 409:
            raise
    run = wait_for_run(api, path, run, label)
    if run["status"] == "cancelled":
        typer.echo(" cancelled, nothing changed", err=True)
    else:
        typer.echo(f" too late: the sync had committed and ended as {run['status']}", err=True)
    raise typer.Exit(INTERRUPTED)
