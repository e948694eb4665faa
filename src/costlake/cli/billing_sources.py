"""`costlake billing-source ...`: one command per endpoint of /api/v1/tenants/{tenant_id}/billing-sources."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import typer

from costlake.cli.client import ApiClient, ApiError, api_for
from costlake.cli.common import TenantOption
from costlake.cli.output import Output, OutputOption, emit
from costlake.cli.runs import cancel_command, follow
from costlake.errors import CostlakeError
from costlake.formats.contract import API_FORMAT, AUTO
from costlake.formats.registry import FORMATS, KNOWN_PROVIDERS, METADATA_FORMATS

app = typer.Typer(help="Billing sources of a tenant: the exports costlake syncs into the store.", no_args_is_help=True)

SOURCE_COLUMNS = (
    "name",
    "id",
    "provider",
    "format",
    "enabled",
    "window_months",
    "last_status",
    "last_synced_at",
    "last_row_count",
)
RUN_COLUMNS = ("id", "status", "trigger", "started_at", "finished_at", "months", "row_count", "files", "error")

SourceArgument = Annotated[str, typer.Argument(metavar="SOURCE_ID", help="The source's id or name.")]
RegionOption = Annotated[str | None, typer.Option(help="The export's region, where the provider needs one.")]
WindowOption = Annotated[int | None, typer.Option(help="Billing months each sync reloads (1-36; default 2).")]
NoValidateOption = Annotated[
    bool,
    typer.Option("--no-validate", help="Do not list the export or call the vendor first (e.g. an export not written yet)."),
]


def sources_path(tenant: str) -> str:
    return f"/api/v1/tenants/{quote(tenant, safe='')}/billing-sources"


def source_path(api: ApiClient, tenant: str, ref: str) -> str:
    """The API path of a source named by id or by name (the server looks the name up)."""
    if not _is_uuid(ref):
        ids = [source["id"] for source in api.get(sources_path(tenant), name=ref)]
        if not ids:
            raise CostlakeError(
                f"no billing source named {ref!r} in tenant {tenant!r}; "
                f"`costlake billing-source list --tenant {tenant}` shows them"
            )
        ref = ids[0]
    return f"{sources_path(tenant)}/{ref}"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


OptionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--option", metavar="KEY=VALUE", help="A format or vendor setting, e.g. dataset=amortized. Repeatable."
    ),
]
# Click keeps a paragraph that starts with \b as written: one format per line, never broken at a hyphen.
FORMATS_EPILOG = "\b\nFormats (--format):\n" + "\n".join(
    f"  {name:<20} {label}"
    for name, label in [
        (AUTO, "detect from the first file's columns (default)"),
        *((kind.name, kind.label) for kind in (*FORMATS.values(), *METADATA_FORMATS.values())),
        (API_FORMAT, "a vendor's billing API (vendor providers)"),
    ]
)


def _options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise typer.BadParameter(f"{pair!r}: use KEY=VALUE", param_hint="--option")
        options[key] = value
    return options


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


CredentialEnvOption = Annotated[
    str | None,
    typer.Option(
        help="Vendor sources: the server environment variable holding the key, read at sync time (over HTTP only "
        "COSTLAKE_TENANT_{TENANT}_* variables). Two-part keys: JSON or PART1:PART2."
    ),
]
CredentialStdinOption = Annotated[
    bool,
    typer.Option(
        "--credential-stdin",
        help='Vendor sources: read the key from stdin and store it encrypted (two-part keys: {"api_key": ..., "app_key": ...}).',
    ),
]
RoleArnOption = Annotated[str | None, typer.Option(help="S3 exports: an IAM role the server assumes to read them.")]
ExternalIdOption = Annotated[str | None, typer.Option(help="The external ID the role's trust policy requires.")]
ServiceAccountOption = Annotated[str | None, typer.Option(help="GCS exports: a service account the server impersonates.")]
SasStdinOption = Annotated[
    bool, typer.Option("--storage-sas-stdin", help="Azure exports: read a SAS token from stdin and store it encrypted.")
]


def _stdin_secret(flag: str) -> str | dict[str, Any]:
    if sys.stdin.isatty():
        typer.echo(f"{flag}: paste the secret, then Ctrl-D", err=True)
    text = sys.stdin.read().strip()
    if not text:
        raise typer.BadParameter("nothing on stdin", param_hint=flag)
    if text.startswith("{"):
        try:
            return dict(json.loads(text))
        except (ValueError, TypeError):
            raise typer.BadParameter("stdin starts with '{' but is not a JSON object", param_hint=flag) from None
    return text


def _secrets(
    credential_env: str | None,
    credential_stdin: bool,
    storage_role_arn: str | None,
    storage_external_id: str | None,
    storage_service_account: str | None,
    storage_sas_stdin: bool,
) -> dict[str, Any]:
    """The `credential` and `storage_credential` objects the flags ask for (stdin read at most once)."""
    if credential_stdin and storage_sas_stdin:
        raise typer.BadParameter("only one secret can come from stdin", param_hint="--credential-stdin")
    if credential_env and credential_stdin:
        raise typer.BadParameter("give --credential-env or --credential-stdin, not both", param_hint="--credential-env")
    body: dict[str, Any] = {}
    if credential_env:
        body["credential"] = {"kind": "env", "name": credential_env}
    elif credential_stdin:
        body["credential"] = {"kind": "stored", "value": _stdin_secret("--credential-stdin")}
    storage = [
        {"kind": "aws-role", "role_arn": storage_role_arn, "external_id": storage_external_id} if storage_role_arn else None,
        {"kind": "gcp-service-account", "service_account": storage_service_account} if storage_service_account else None,
        {"kind": "azure-sas", "sas_token": _stdin_secret("--storage-sas-stdin")} if storage_sas_stdin else None,
    ]
    chosen = [_given(**spec) for spec in storage if spec]
    if len(chosen) > 1:
        raise typer.BadParameter("give one storage identity", param_hint="--storage-role-arn")
    if storage_external_id and not storage_role_arn:
        raise typer.BadParameter("--storage-external-id goes with --storage-role-arn", param_hint="--storage-external-id")
    if chosen:
        body["storage_credential"] = chosen[0]
    return body


@app.command(epilog=FORMATS_EPILOG)
def add(
    ctx: typer.Context,
    tenant: TenantOption,
    provider: Annotated[
        str, typer.Option(help=f"One of: {', '.join(KNOWN_PROVIDERS)} (clouds' exports, then vendor APIs).")
    ],
    source_uri: Annotated[
        str | None,
        typer.Option(
            help="Where the export is: a local path, s3://, gs://, abfss://, az:// or bq://; globs * ** ? allowed. "
            "Vendor sources take none."
        ),
    ] = None,
    format_: Annotated[
        str | None,
        typer.Option("--format", help=f"The export's format (listed below); default {AUTO} for exports, {API_FORMAT} for vendors."),
    ] = None,
    option: OptionOption = None,
    credential_env: CredentialEnvOption = None,
    credential_stdin: CredentialStdinOption = False,
    storage_role_arn: RoleArnOption = None,
    storage_external_id: ExternalIdOption = None,
    storage_service_account: ServiceAccountOption = None,
    storage_sas_stdin: SasStdinOption = False,
    name: Annotated[str | None, typer.Option(help="Unique in the tenant; default: derived from the URI.")] = None,
    region: RegionOption = None,
    window_months: WindowOption = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled: no scheduled syncs.")] = False,
    no_validate: NoValidateOption = False,
    output: OutputOption = None,
) -> None:
    """Add a billing source. The export is listed (or the vendor called) once first, so a wrong URI or key fails
    now rather than at the first sync."""
    body = _given(
        provider=provider, source_uri=source_uri, format=format_, name=name, region=region, window_months=window_months
    )
    body.update(
        _secrets(credential_env, credential_stdin, storage_role_arn, storage_external_id, storage_service_account, storage_sas_stdin)
    )
    if option:
        body["options"] = _options(option)
    if disabled:
        body["enabled"] = False
    if no_validate:
        body["validate"] = False
    with api_for(ctx) as api:
        created = api.post(sources_path(tenant), json=body)
    emit(created, output)
    for notice in created.get("notices", []):
        typer.echo(f"Note: {notice}", err=True)


@app.command("list")
def list_sources(ctx: typer.Context, tenant: TenantOption, output: OutputOption = None) -> None:
    """The tenant's billing sources."""
    with api_for(ctx) as api:
        emit(api.get(sources_path(tenant)), output, columns=SOURCE_COLUMNS)


@app.command()
def sync(
    ctx: typer.Context,
    source_id: SourceArgument,
    tenant: TenantOption,
    from_: Annotated[
        datetime | None,
        typer.Option(
            "--from",
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="Reload every billing month from this date's month to now.",
        ),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Wait for the sync to end (following one already running); exit 1 if it failed."),
    ] = False,
    output: OutputOption = None,
) -> None:
    """Start a sync now and print its run.

    With --wait, print the run as it ended; a sync of the source that is already running (the scheduler's, say)
    is followed instead of refused. On a terminal the phase, files, rows and months show as it goes.

    Without a server (no COSTLAKE_URL) the sync runs in this process: the command prints the run as started, then
    waits for the sync to finish before it exits, since nothing else would finish it; Ctrl-C cancels it, and
    nothing changes. Against a server, Ctrl-C stops watching and says how to cancel the run there.
    """
    with api_for(ctx) as api:
        path = source_path(api, tenant, source_id)
        try:
            run = api.post(f"{path}/sync", json={"from": from_.date().isoformat()} if from_ else None)
        except ApiError as error:
            running = (error.payload or {}).get("run_id") if error.status == 409 else None
            if not (wait and running):
                raise
            run = api.get(f"{path}/syncs/{running}")
            typer.echo(
                f"A sync of {source_id} is already running (run {running}, {run['trigger']}, started "
                f"{run['started_at']}); following it.",
                err=True,
            )
        hint = cancel_command(tenant, source_id, run["id"])
        if wait:
            run = follow(api, path, run, source_id, hint)
        elif api.local:
            emit(run, output)  # as started; the sync still has to run here
            follow(api, path, run, source_id, hint)
            return
        emit(run, output)
    if wait and run["status"] in ("failed", "cancelled"):
        typer.echo(f"Sync {run['status']}: {run['error']}", err=True)
        raise typer.Exit(1)


@app.command()
def cancel(
    ctx: typer.Context,
    source_id: SourceArgument,
    tenant: TenantOption,
    run_id: Annotated[str | None, typer.Argument(metavar="[RUN_ID]", help="The run; default: the one running.")] = None,
    output: OutputOption = None,
) -> None:
    """Cancel a running sync: it stops before its commit, its staged files are removed, and the store stays as it
    was. Prints the run once it ended."""
    with api_for(ctx) as api:
        path = source_path(api, tenant, source_id)
        if run_id is None:
            latest = api.get(f"{path}/syncs", limit=1)["items"]
            if not latest or latest[0]["status"] not in ("queued", "running"):
                raise CostlakeError(f"no sync of {source_id!r} is running; nothing to cancel")
            run_id = latest[0]["id"]
        run = api.post(f"{path}/syncs/{run_id}/cancel")
        run = follow(api, path, run, source_id, cancel_command(tenant, source_id, run_id))
    emit(run, output)


@app.command(epilog=FORMATS_EPILOG)
def update(
    ctx: typer.Context,
    source_id: SourceArgument,
    tenant: TenantOption,
    window_months: WindowOption = None,
    source_uri: Annotated[str | None, typer.Option(help="A new URI; the next sync is then a backfill.")] = None,
    region: RegionOption = None,
    name: Annotated[str | None, typer.Option(help="A new name, unique in the tenant.")] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help="A new format (listed below); the next sync is then a backfill.")
    ] = None,
    option: OptionOption = None,
    credential_env: CredentialEnvOption = None,
    credential_stdin: CredentialStdinOption = False,
    storage_role_arn: RoleArnOption = None,
    storage_external_id: ExternalIdOption = None,
    storage_service_account: ServiceAccountOption = None,
    storage_sas_stdin: SasStdinOption = False,
    remove_storage_credential: Annotated[
        bool, typer.Option("--remove-storage-credential", help="Read the export with the server's own identity again.")
    ] = False,
    no_validate: NoValidateOption = False,
    output: OutputOption = None,
) -> None:
    """Change a billing source; only the options given change (--option replaces the whole option set).
    A new credential replaces the old one in place: no re-sync, no gap."""
    body = _given(window_months=window_months, source_uri=source_uri, region=region, name=name, format=format_)
    if option:
        body["options"] = _options(option)
    body.update(
        _secrets(credential_env, credential_stdin, storage_role_arn, storage_external_id, storage_service_account, storage_sas_stdin)
    )
    if remove_storage_credential:
        body["storage_credential"] = None
    if not body:
        ctx.fail(
            "nothing to change: give at least one of --window-months, --source-uri, --region, --name, --format, --option, "
            "--credential-env, --credential-stdin or a storage identity"
        )
    if no_validate:
        body["validate"] = False
    with api_for(ctx) as api:
        emit(api.put(source_path(api, tenant, source_id), json=body), output)


def _set_enabled(ctx: typer.Context, tenant: str, source_id: str, enabled: bool, output: Output | None) -> None:
    with api_for(ctx) as api:
        emit(api.put(source_path(api, tenant, source_id), json={"enabled": enabled}), output)


@app.command()
def disable(
    ctx: typer.Context, source_id: SourceArgument, tenant: TenantOption, output: OutputOption = None
) -> None:
    """Stop scheduled syncs of a source (a manual sync still runs)."""
    _set_enabled(ctx, tenant, source_id, False, output)


@app.command()
def enable(
    ctx: typer.Context, source_id: SourceArgument, tenant: TenantOption, output: OutputOption = None
) -> None:
    """Resume scheduled syncs of a source."""
    _set_enabled(ctx, tenant, source_id, True, output)


@app.command()
def remove(
    ctx: typer.Context,
    source_id: SourceArgument,
    tenant: TenantOption,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask for confirmation.")] = False,
    output: OutputOption = None,
) -> None:
    """Remove a billing source and every billing row it loaded; prints the source as it was.

    Asks for confirmation; without a terminal to ask on, it refuses unless --auto-approve is given.
    """
    with api_for(ctx) as api:
        path = source_path(api, tenant, source_id)
        found = api.get(path)
        if not auto_approve:
            if not sys.stdin.isatty():
                raise CostlakeError(
                    f"not removing billing source {found['name']!r}: there is no terminal to confirm on; "
                    "pass --auto-approve to remove it and every row it loaded"
                )
            typer.confirm(
                f"Remove billing source {found['name']!r} ({found['id']}) and every row it loaded?", abort=True
            )
        api.delete(path)
    emit(found, output)
    typer.echo(f"Removed billing source {found['name']!r} and every row it loaded.", err=True)


@app.command()
def syncs(
    ctx: typer.Context,
    source_id: SourceArgument,
    tenant: TenantOption,
    limit: Annotated[int | None, typer.Option(help="Runs per page (1-200; default 50).")] = None,
    cursor: Annotated[str | None, typer.Option(help="The next_cursor of the previous page.")] = None,
    output: OutputOption = None,
) -> None:
    """The source's sync runs, newest first."""
    with api_for(ctx) as api:
        emit(
            api.get(f"{source_path(api, tenant, source_id)}/syncs", limit=limit, cursor=cursor),
            output,
            columns=RUN_COLUMNS,
        )
