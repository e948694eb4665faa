"""Alerts: budgets with forecasts, anomaly monitors with root causes, and data notifications.

Every scope is an explorer filter and every number comes from the query engine (costlake.query), so whatever the
explorer can filter on (FOCUS columns, tag:<key>, virtual dimensions) a budget or monitor can watch. Evaluations
run per tenant under a catalog lease (one at a time across workers), after each sync (hooks) and every
COSTLAKE_ALERTS_INTERVAL; what they find is recorded as notices, once per key, and sent by costlake.notify.
"""
