"""`python -m amin`: the command line."""

from amin.harness.cli import main

raise SystemExit(main())
