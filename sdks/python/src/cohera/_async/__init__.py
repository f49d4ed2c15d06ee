"""The asynchronous client: the single source of the clients' code. ``scripts/unasync.py`` writes
``cohera/_sync`` from it; edit here, never there."""
