"""The run: split documents into pages, route them, recognize in an actor pool, write, account, resume."""
