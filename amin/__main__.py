"""`python -m amin`: the command line."""

from .cli import main

raise SystemExit(main())
