"""Request and response bodies. Field names are the public contract: change them only with a new API version."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, ValidationInfo, field_validator

from costlake.api.schemas_allocation import AllocationStateOut
from costlake.catalog.models import BillingSource, SyncRun
from costlake.credentials import credential_view
from costlake.formats.registry import KNOWN_FORMATS, KNOWN_PROVIDERS
from costlake.storage.identity import Kind as IdentityKindName
from costlake.text import utc_text

UtcDatetime = Annotated[datetime, PlainSerializer(utc_text, return_type=str)]


def _known_provider(name: str) -> str:
    if name not in KNOWN_PROVIDERS:
        raise ValueError(f"unknown provider {name!r}; use one of: {', '.join(KNOWN_PROVIDERS)}")
    return name


def _known_format(name: str) -> str:
    if name not in KNOWN_FORMATS:
        raise ValueError(f"unknown format {name!r}; use one of: {', '.join(KNOWN_FORMATS)}")
    return name


Provider = Annotated[str, AfterValidator(_known_provider)]


Format = Annotated[str, AfterValidator(_known_format)]
Options = Annotated[dict[str, Annotated[str, Field(max_length=1000)]], Field(max_length=50)]
WindowMonths = Annotated[int, Field(ge=1, le=36)]
# No NUL character in stored text: PostgreSQL refuses it, so it is a 422 here rather than a database error.
_NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=_NO_NUL)]
Uri = Annotated[str, Field(min_length=1, max_length=4000, pattern=_NO_NUL)]
Region = Annotated[str, Field(max_length=100, pattern=_NO_NUL)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=_NO_NUL)]  # a row's id, as another row refers to it
SecretText = Annotated[str, Field(min_length=1, max_length=10_000)]


class EnvCredential(BaseModel):
    """Read from the server's environment at sync time (over HTTP: only COSTLAKE_TENANT_<TENANT>_* variables)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["env"]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class StoredCredential(BaseModel):
    """Stored encrypted; `value` is the key, or its parts (e.g. {"api_key": ..., "app_key": ...} for Datadog)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["stored"]
    value: SecretText | Annotated[dict[str, SecretText], Field(max_length=10)]


Credential = Annotated[EnvCredential | StoredCredential, Field(discriminator="kind")]


class StorageCredential(BaseModel):
    """The source's own identity for its object store: aws-role (role_arn, external_id), gcp-service-account
    (service_account) or azure-sas (sas_token)."""

    model_config = ConfigDict(extra="forbid")

    kind: IdentityKindName
    role_arn: Annotated[str, Field(max_length=2048)] | None = None
    external_id: Annotated[str, Field(max_length=1224)] | None = None
    service_account: Annotated[str, Field(max_length=320)] | None = None
    sas_token: SecretText | None = None


class CredentialState(BaseModel):
    """What a response shows of a secret: its kind, never its value."""

    kind: str
    set: bool


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Provider
    source_uri: Uri | None = Field(default=None, description="Export location; vendor API sources take none")
    format: Format | None = Field(default=None, description="Default: auto for exports, api for vendors")
    name: Name | None = None
    region: Region | None = None
    window_months: WindowMonths = 2
    enabled: bool = True
    options: Options = Field(default_factory=dict, description="Format or vendor settings, e.g. {\"site\": \"us5\"}")
    credential: Credential | None = None
    storage_credential: StorageCredential | None = None
    validate_uri: bool = Field(
        default=True, alias="validate", description="List the export, or call the vendor once, before saving"
    )


# The default of an update field that cannot be null: never validated, and left out of model_fields_set.
NOT_SENT: Any = None


class SourceUpdate(BaseModel):
    """Only the fields sent change. A field that every source has cannot be null: leave it out to keep it."""

    model_config = ConfigDict(extra="forbid")

    # Not Optional: the OpenAPI says these are never null; the default only marks "not sent".
    provider: Provider = NOT_SENT
    source_uri: Uri = NOT_SENT
    format: Format = NOT_SENT
    name: Name = NOT_SENT
    region: Region | None = None
    window_months: WindowMonths = NOT_SENT
    enabled: bool = NOT_SENT
    options: Options = NOT_SENT
    credential: Credential | None = None
    storage_credential: StorageCredential | None = Field(default=None, description="null removes it")
    validate_uri: bool = Field(default=True, alias="validate")

    @field_validator("provider", "source_uri", "format", "name", "window_months", "enabled", "options", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null; leave it out to keep the current value")
        return value


class SourceOut(BaseModel):
    id: str
    name: str
    provider: str
    format: str
    source_uri: str
    region: str | None
    window_months: int
    enabled: bool
    options: dict[str, str]
    credential: CredentialState | None
    storage_credential: CredentialState | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    last_status: str | None
    last_synced_at: UtcDatetime | None
    last_row_count: int | None
    last_error: str | None
    notices: list[str] = Field(
        default_factory=list,
        description="Only when a source is created: what the add-time checks decided, e.g. how a file is read",
    )

    @classmethod
    def of(cls, source: BillingSource, notices: list[str] | None = None) -> SourceOut:
        fields = {name: getattr(source, name) for name in cls.model_fields if name != "notices"}
        fields["credential"] = credential_view(source.credential)
        fields["storage_credential"] = credential_view(source.storage_credential)
        return cls.model_validate({**fields, "notices": notices or []})


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_date: date | None = Field(default=None, alias="from")


class RunProgressOut(BaseModel):
    """How far a running sync got; written about once a second by the worker running it."""

    phase: Literal["reading", "writing", "committing"] = Field(
        description="reading: listing and converting; writing: rows converted and staged; committing: the Delta commit"
    )
    files: int | None = Field(description="Files this sync reads (exports); null for vendor APIs")
    files_read: int = Field(description="Files started so far")
    rows: int
    months: list[str] = Field(description="Billing months seen so far")


class RunOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    source_id: str
    status: str
    trigger: str
    started_at: UtcDatetime
    finished_at: UtcDatetime | None
    from_date: date | None = Field(serialization_alias="from")
    months: list[str]
    row_count: int | None
    billed_cost_by_month: dict[str, dict[str, str]]
    files: int | None
    error: str | None
    warnings: list[str]
    progress: RunProgressOut | None = Field(description="While running, how far it got; once ended, its last state")
    cancel_requested_at: UtcDatetime | None = Field(description="When a cancel was asked; the run then ends as cancelled")

    @classmethod
    def of(cls, run: SyncRun) -> RunOut:
        return cls.model_validate(run, from_attributes=True)


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None


class Me(BaseModel):
    tenant_id: str | None
    tenant_name: str | None
    role: str
    token_id: str | None
    env_prefix: str | None = Field(
        description="The server environment variables this tenant may name as a credential: those starting with it"
    )
    external_id: str | None = Field(description="The external ID this tenant's AWS roles must require of costlake")


class NamedOut(BaseModel):
    name: str
    label: str


class FormatKindOut(BaseModel):
    """A format a source's `format` may name: an export's files, or metadata that enriches other sources' rows."""

    name: str
    kind: Literal["export", "metadata"]
    label: str
    docs: str = Field(description="Its documentation page, relative to the repository root")
    options: list[str] = Field(description="The option keys it understands")
    providers: list[str]


class VendorKindOut(BaseModel):
    """A vendor billing API: its sources have `provider` = `name`, `format` = "api" and a credential, not a URI."""

    name: str
    label: str
    docs: str
    options: list[str]
    providers: list[str]
    credential_parts: list[str] = Field(description="The parts a stored credential's `value` has, e.g. api_key, app_key")
    credential_hint: str = Field(description="What the credential is, in words")
    source_uri: str = Field(description="What its sources show as their source_uri")


class SourceKindsOut(BaseModel):
    providers: list[NamedOut] = Field(description="Clouds whose billing exports are read")
    formats: list[FormatKindOut]
    vendors: list[VendorKindOut]
    default_format: NamedOut = Field(description="What an export gets when it names no format")
    vendor_format: NamedOut = Field(description="The format of every vendor API source")


def source_fields(body: SourceCreate | SourceUpdate, names: Iterable[str]) -> dict[str, Any]:
    """The named fields as plain values for the core (credentials as dicts without unset keys)."""
    fields = {name: getattr(body, name) for name in names if name != "validate_uri"}
    for name in ("credential", "storage_credential"):
        if fields.get(name) is not None:
            fields[name] = fields[name].model_dump(exclude_none=True)
    return fields


def changes_of(update: SourceUpdate) -> dict[str, Any]:
    """Only the fields the request named: omitted fields stay as they are."""
    return source_fields(update, update.model_fields_set)


class CostRowOut(BaseModel):
    """One row: `period`, one field per group_by name (e.g. "ServiceName", "tag:team"), `cost`, `currency`, `other`;
    with a `unit_metric`, also `unit_cost` (decimal text, or null where the metric has no value)."""

    model_config = ConfigDict(extra="allow")

    period: str | None
    cost: str
    currency: str
    other: bool


class UnitMetricOut(BaseModel):
    name: str
    unit: str
    aggregation: str
    scale: int
    matched_dimensions: list[str] = Field(description="group_by dimensions the metric's labels matched; other rows use the metric total")


class CostQueryResult(BaseModel):
    rows: list[CostRowOut]
    totals: dict[str, str]
    elapsed_ms: float
    unit_metric: UnitMetricOut | None = Field(default=None, description="Only when the query named a unit_metric")
    unit_totals: dict[str, str | None] | None = Field(default=None, description="Per currency: total cost ÷ total metric")
    allocation_version: Annotated[int | None, Field(description="The allocation rules version that answered dim:<name>")] = None
    warnings: list[str] = Field(default_factory=list, description="Notes of the allocation rules, e.g. a split that fell back to even")


class DimensionOut(BaseModel):
    name: str
    label: str


class TagKeyOut(BaseModel):
    key: str
    coverage: float = Field(description="Share of cost (absolute EffectiveCost) on rows carrying the key")


class DimensionsOut(BaseModel):
    dimensions: list[DimensionOut] = Field(description="Columns, then the published allocation dimensions as dim:<name>")
    tag_keys: list[TagKeyOut]
    allocation: Annotated[AllocationStateOut | None, Field(description="The published allocation version and its coverage")] = None


class DimensionValueOut(BaseModel):
    value: str
    costs: dict[str, str]


class DimensionValuesOut(BaseModel):
    values: list[DimensionValueOut]
    next_cursor: str | None


class MonthHealthOut(BaseModel):
    month: str
    rows: int
    billed_cost: dict[str, str]


class SourceHealthOut(BaseModel):
    id: str
    name: str
    provider: str
    format: str
    enabled: bool
    status: str | None
    last_success_at: UtcDatetime | None
    last_error: str | None
    freshness: str | None = Field(description="Latest ChargePeriodEnd in the store for this source")
    stale: bool
    stale_reason: str | None = Field(
        description="Why the source is stale: no success yet, none for two sync intervals, no rows, or only old months"
    )
    months: list[MonthHealthOut]


class MetricPullHealthOut(BaseModel):
    """A metric pull in data health: how its runs go and the latest day it holds."""

    metric: str
    kind: str
    enabled: bool
    status: str | None
    last_success_at: UtcDatetime | None
    last_error: str | None
    latest_day: date | None
    stale: bool


class ChannelHealthOut(BaseModel):
    """A notification channel (costlake.notify): failing once every attempt for 24 hours has failed."""

    id: str
    name: str
    kind: str
    failing: bool
    failing_since: UtcDatetime | None
    last_error: str | None


class DataHealthOut(BaseModel):
    sources: list[SourceHealthOut]
    metric_pulls: list[MetricPullHealthOut] = Field(default_factory=list, description="Scheduled metric pulls (Prometheus, PostgreSQL)")
    allocation: Annotated[AllocationStateOut | None, Field(description="Allocation coverage per dimension (published rules)")] = None
    channels: list[ChannelHealthOut] = Field(default_factory=list)


class CommitmentOut(BaseModel):
    """A commitment from provider metadata (e.g. a GCP spend-based CUD), as cost rows reference it."""

    commitment_id: str
    source_id: str
    name: str | None
    category: str | None
    type: str | None
    product_name: str | None
    consumption_model: str | None
    billing_account_id: str | None
    region: str | None
    term: str | None
    amount: str | None
    amount_unit: str | None
    starts_at: UtcDatetime | None
    ends_at: UtcDatetime | None
    state: str | None
    updated_at: UtcDatetime
