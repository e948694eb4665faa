"""`format: auto`: recognize an export's format from the columns of its first file."""

from __future__ import annotations

from costlake.duckdb_io import connect
from costlake.errors import InvalidInput
from costlake.formats.conversion import describe
from costlake.formats.registry import FORMATS, format_owning
from costlake.settings import Settings
from costlake.storage import StoredFile, parse_uri


def _header(first: StoredFile, settings: Settings) -> list[str]:
    connection = connect(settings, [first.uri])
    try:
        return [name for name, _ in describe(connection, first)]
    except Exception as error:  # noqa: BLE001 - any unreadable first file is the user's to fix
        raise InvalidInput("source_uri", f"cannot read {first.uri} to detect its format ({type(error).__name__})") from None
    finally:
        connection.close()


def _found(header: list[str]) -> str:
    return ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")


def check_format(files: list[StoredFile], settings: Settings, name: str) -> None:
    """A format named explicitly must match the first file's header, checked as `auto` would check it: a wrong
    format fails when the source is added, not at its first sync."""
    source_format = FORMATS.get(name)
    if source_format is None or not files or format_owning(parse_uri(files[0].uri).scheme) is not None:
        return
    header = _header(files[0], settings)
    if source_format.detect(header):
        return
    matches = [other for other, kind in FORMATS.items() if kind.detect(header)]
    looks = f"; it looks like {' or '.join(matches)}: use format {matches[0]} or auto" if matches else ""
    raise InvalidInput(
        "format",
        f"{files[0].uri} is not a {source_format.label} file (format {name} expects {source_format.signature}){looks}. "
        f"Found: {_found(header)}",
    )


def detect_format(files: list[StoredFile], settings: Settings) -> str:
    """The one format whose signature the first file's header matches, or a 422 naming what was expected."""
    first = files[0]
    owner = format_owning(parse_uri(first.uri).scheme)
    if owner is not None:
        return owner.name
    header = _header(first, settings)
    matches = [name for name, source_format in FORMATS.items() if source_format.detect(header)]
    if len(matches) == 1:
        return matches[0]
    expected = "; ".join(
        f"{name}: {source_format.signature}" for name, source_format in FORMATS.items()
    )
    found = _found(header)
    problem = "matches no known format" if not matches else f"matches several formats ({', '.join(matches)})"
    raise InvalidInput(
        "format",
        f"{first.uri} {problem}; set format explicitly. Expected columns per format: {expected}. Found: {found}",
    )
