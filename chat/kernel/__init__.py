"""The kernel every package shares: settings, the database, logs, the errors and their
registry of codes, the broker and the HTTP helpers.

It imports nothing from the chat's top (the app, the endpoints, the hub, the CLI), so
``referral`` and ``volunteer`` build on it without reaching there; tests/unit/
test_import_graph.py holds that line. Import the modules themselves
(``from chat.kernel import db``, ``from chat.kernel.settings import Settings``).
"""

__all__ = ["addresses", "broker", "db", "error_codes", "exceptions", "logs", "settings", "web"]
