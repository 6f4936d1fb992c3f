"""`python -m bot`: the same as the `diandan` command."""

from bot.cli import main

raise SystemExit(main())
