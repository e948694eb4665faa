"""One way to reach billing exports and lakes: local folders, S3, GCS and Azure, via fsspec and delta-rs."""

from costlake.storage.delta import delta_storage_options
from costlake.storage.errors import StorageError, UnsupportedUriError
from costlake.storage.files import StoredFile, list_files, open_file, open_output, remove_tree
from costlake.storage.filesystems import filesystem_for
from costlake.storage.uris import Location, join_uri, parse_uri

__all__ = [
    "Location",
    "StorageError",
    "StoredFile",
    "UnsupportedUriError",
    "delta_storage_options",
    "filesystem_for",
    "join_uri",
    "list_files",
    "open_file",
    "open_output",
    "parse_uri",
    "remove_tree",
]
