"""The console's pages, one module each (see bots/console/__init__.py)."""
