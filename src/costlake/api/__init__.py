"""The REST API (FastAPI). The CLI speaks it too, over HTTP or in-process."""
