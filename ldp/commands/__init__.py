"""One module per subcommand. Each defines `register(subparsers)` and sets `handler` on its parser.

Keep imports of Django and heavy libraries inside the handlers so `ldp --help` stays fast.
"""
