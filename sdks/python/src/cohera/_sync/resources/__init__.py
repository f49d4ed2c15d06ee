# GENERATED from _async/resources/__init__.py by scripts/unasync.py: edit the async source, not this.
"""The resources, one module per area of the API."""
