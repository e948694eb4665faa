"""Errors a person can act on: each names the URI and says what to check."""

from __future__ import annotations

from costlake.errors import CostlakeError


class StorageError(CostlakeError):
    """A location could not be read or written; the message names the URI and the fix."""


class UnsupportedUriError(StorageError):
    """The URI has a form costlake does not read; the message lists the forms it does."""
