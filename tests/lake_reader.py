"""Reading a tenant's table back the way other engines do: DuckDB over the current Parquet files."""

from __future__ import annotations

from decimal import Decimal

from costlake.duckdb_io import connect
from costlake.settings import Settings
from costlake.store import Lake


def billed_by_month(
    settings: Settings, tenant_id: str, source_id: str | None = None, currency: str | None = None
) -> dict[str, Decimal]:
    """Sum(BilledCost) per billing month, read with DuckDB (all currencies unless one is named)."""
    files = Lake(settings).data_files(tenant_id)
    if not files:
        return {}
    connection = connect(settings, files)
    conditions = ["x_SourceId = $source"] if source_id else []
    conditions += ["BillingCurrency = $currency"] if currency else []
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    query = (
        "SELECT x_BillingMonth, sum(BilledCost)::VARCHAR FROM read_parquet($files, hive_partitioning = true) "
        f"{where} GROUP BY 1 ORDER BY 1"
    )
    params: dict[str, object] = {"files": files}
    if source_id:
        params["source"] = source_id
    if currency:
        params["currency"] = currency
    rows = connection.execute(query, params).fetchall()
    return {month: Decimal(total) for month, total in rows}
