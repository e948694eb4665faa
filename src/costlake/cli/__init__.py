"""The `costlake` command line: operator commands on the catalog, everything else through the REST API."""
