"""Cost exploration over a tenant's table: validated queries, SQL built from allowlists and bound parameters."""
