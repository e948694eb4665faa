"""Domain errors shared by the core; the surfaces (API, CLI) turn them into status codes and messages."""

from __future__ import annotations


class CostlakeError(Exception):
    """Base of every error costlake reports to a person; the message says what was wrong and what to do."""


class NotFound(CostlakeError):
    pass


class Forbidden(CostlakeError):
    pass


class Conflict(CostlakeError):
    def __init__(self, message: str, *, run_id: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id


class InvalidInput(CostlakeError):
    """Bad input in one named field (e.g. "source_uri"), reported as a 422 on that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
