"""Usage metrics for unit economics: definitions, values (pushed as JSON or CSV, or pulled on schedule from
Prometheus or PostgreSQL), and cost ÷ metric per period and group (`units.py`)."""
