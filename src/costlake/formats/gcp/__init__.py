"""Google Cloud: the billing export (BigQuery or files) and CUD metadata."""
