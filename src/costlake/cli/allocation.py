"""`costlake tags ...` and `costlake allocation ...`: the tag inventory, variants and allocation rules as code.

Rules files are YAML or JSON in the draft's shape (`{"dimensions": [...]}`, docs/allocation.md): `show` prints
one, `apply -f` sets the draft from one, `edit` opens the draft in $EDITOR. Nothing reaches queries until
`publish`.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from costlake.cli.client import api_for
from costlake.cli.common import TenantOption
from costlake.cli.costs import tenant_path
from costlake.cli.output import Output, OutputOption, emit
from costlake.errors import CostlakeError

tags_app = typer.Typer(help="Tag keys across every source, their values, and detected spelling variants.", no_args_is_help=True)
app = typer.Typer(help="Allocation rules: virtual dimensions (dim:<name>), splits, versions.", no_args_is_help=True)


class RulesFormat(str, Enum):
    yaml = "yaml"
    json = "json"


def _rules_text(rules: dict[str, Any], fmt: RulesFormat) -> str:
    document = {"dimensions": rules["dimensions"]}
    if fmt is RulesFormat.json:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def read_rules(path: Path) -> dict[str, Any]:
    """A rules file (YAML or JSON: JSON is YAML); its top level must be a mapping with `dimensions`."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CostlakeError(f"cannot read {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise CostlakeError(f"{path} is not valid YAML or JSON: {' '.join(str(error).split())}") from None
    if not isinstance(document, dict) or "dimensions" not in document:
        raise CostlakeError(f"{path}: a rules file holds a mapping with `dimensions: [...]` (see `costlake allocation show`)")
    return document


# --- tags -----------------------------------------------------------------------------------------------------------


@tags_app.command("list")
def tags_list(ctx: typer.Context, tenant: TenantOption, output: OutputOption = Output.table) -> None:
    """Every tag key: providers, rows, cost per currency, share of all cost, distinct values."""
    with api_for(ctx) as api:
        result = api.get(f"{tenant_path(tenant)}/tags")
    if output is Output.json:
        emit(result, output)
        return
    emit(result["items"], output, columns=("key", "providers", "rows", "cost", "share", "distinct_values"))


@tags_app.command("values")
def tags_values(
    ctx: typer.Context,
    tenant: TenantOption,
    key: Annotated[str, typer.Argument(help="The tag key, exactly as stored (see `costlake tags list`).")],
    search: Annotated[str | None, typer.Option(help="Only values containing this text.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    output: OutputOption = Output.table,
) -> None:
    """The key's values, largest cost first."""
    with api_for(ctx) as api:
        result = api.get(f"{tenant_path(tenant)}/tags/values", key=key, search=search, limit=limit)
    emit(result if output is Output.json else result["items"], output, columns=("value", "cost"))


@tags_app.command("suggestions")
def tags_suggestions(ctx: typer.Context, tenant: TenantOption, output: OutputOption = Output.table) -> None:
    """Keys and values that look like spellings of one another, with their cost and coverage before/after."""
    with api_for(ctx) as api:
        result = api.get(f"{tenant_path(tenant)}/tags/suggestions")
    if output is Output.json:
        emit(result, output)
        return
    emit(result["items"], output, columns=("id", "kind", "key", "variants", "canonical", "cost", "coverage_before", "coverage_after"))


@tags_app.command("accept")
def tags_accept(ctx: typer.Context, tenant: TenantOption, suggestion_id: Annotated[str, typer.Argument(help="From `costlake tags suggestions`.")]) -> None:
    """Add a suggestion's rule to the allocation draft (preview and publish it to use it)."""
    with api_for(ctx) as api:
        result = api.post(f"{tenant_path(tenant)}/tags/suggestions/{suggestion_id}/accept")
    typer.echo(f"draft: dimension {result['dimension']!r} changed; see `costlake allocation preview`", err=True)
    emit(result, Output.json)


# --- allocation -----------------------------------------------------------------------------------------------------


@app.command("show")
def show(
    ctx: typer.Context,
    tenant: TenantOption,
    version: Annotated[int | None, typer.Option(min=1, help="A published version instead of the draft.")] = None,
    fmt: Annotated[RulesFormat, typer.Option("--format", help="yaml or json.")] = RulesFormat.yaml,
) -> None:
    """Print the draft (or a version) as a rules file, ready for `apply -f`."""
    with api_for(ctx) as api:
        if version is None:
            rules = api.get(f"{tenant_path(tenant)}/allocation/draft")
        else:
            rules = api.get(f"{tenant_path(tenant)}/allocation/versions/{version}")["rules"]
    typer.echo(_rules_text(rules, fmt), nl=False)


@app.command("apply")
def apply(
    ctx: typer.Context,
    tenant: TenantOption,
    file: Annotated[Path, typer.Option("--file", "-f", help="A YAML or JSON rules file.")],
    output: OutputOption = Output.json,
) -> None:
    """Set the draft from a rules file (checked as a whole; a 422 names the field that is wrong)."""
    rules = read_rules(file)
    with api_for(ctx) as api:
        result = api.put(f"{tenant_path(tenant)}/allocation/draft", json={"dimensions": rules["dimensions"]})
    emit(result, output)


@app.command("edit")
def edit(ctx: typer.Context, tenant: TenantOption) -> None:
    """Open the draft in $EDITOR (YAML) and save it when the editor exits; a rejected file is kept for `apply -f`."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise CostlakeError("set EDITOR (or VISUAL), or use `costlake allocation show > rules.yaml` and `apply -f rules.yaml`")
    with api_for(ctx) as api:
        before = _rules_text(api.get(f"{tenant_path(tenant)}/allocation/draft"), RulesFormat.yaml)
        handle, name = tempfile.mkstemp(prefix="costlake-allocation-", suffix=".yaml")
        path = Path(name)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(before)
        if subprocess.run([*shlex.split(editor), str(path)], check=False).returncode != 0:
            raise CostlakeError(f"the editor exited with an error; the draft is unchanged (your file: {path})")
        if path.read_text(encoding="utf-8") == before:
            path.unlink()
            typer.echo("no change", err=True)
            return
        rules = read_rules(path)
        try:
            api.put(f"{tenant_path(tenant)}/allocation/draft", json={"dimensions": rules["dimensions"]})
        except CostlakeError as error:
            raise CostlakeError(f"{error}; your file is kept: fix it and run `costlake allocation apply -f {path}`") from None
        path.unlink()
    typer.echo("draft saved; see `costlake allocation preview`, then `costlake allocation publish`", err=True)


@app.command("preview")
def preview(
    ctx: typer.Context,
    tenant: TenantOption,
    start: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day (default: two months ago).")] = None,
    end: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Day after the last (exclusive).")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Preview this rules file instead of the draft.")] = None,
    output: OutputOption = Output.table,
) -> None:
    """What the draft moves against the published version: cost per value before, after, delta; coverage."""
    body: dict[str, Any] = {name: day.date().isoformat() for name, day in (("start", start), ("end", end)) if day is not None}
    if file is not None:
        body["dimensions"] = read_rules(file)["dimensions"]
    with api_for(ctx) as api:
        result = api.post(f"{tenant_path(tenant)}/allocation/preview", json=body)
    if output is Output.json:
        emit(result, output)
        return
    rows = [
        {"dimension": f"{d['name']} (coverage {d['coverage_before']:.1%} -> {d['coverage_after']:.1%})", **value}
        for d in result["dimensions"]
        for value in d["values"]
    ]
    emit(rows, output, columns=("dimension", "value", "before", "after", "delta"))


@app.command("publish")
def publish(ctx: typer.Context, tenant: TenantOption) -> None:
    """Make the draft the version queries use."""
    with api_for(ctx) as api:
        emit(api.post(f"{tenant_path(tenant)}/allocation/publish"), Output.json)


@app.command("versions")
def versions(ctx: typer.Context, tenant: TenantOption, output: OutputOption = Output.table) -> None:
    """Published versions, newest first."""
    with api_for(ctx) as api:
        result = api.get(f"{tenant_path(tenant)}/allocation/versions")
    emit(result if output is Output.json else result["items"], output, columns=("version", "current", "published_at", "published_by", "dimensions"))


@app.command("restore")
def restore(ctx: typer.Context, tenant: TenantOption, version: Annotated[int, typer.Argument(min=1)]) -> None:
    """Make a version the draft again (publish it to use it)."""
    with api_for(ctx) as api:
        emit(api.post(f"{tenant_path(tenant)}/allocation/versions/{version}/restore"), Output.json)
