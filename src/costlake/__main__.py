"""`python -m costlake` is the `costlake` command."""

from costlake.cli.main import main

main()
