"""The synchronous client, GENERATED from ``cohera/_async`` by ``scripts/unasync.py`` (except the
hand-written ``_resource.py`` and this file)."""
