"""The committed models are what the live server's OpenAPI document generates: a route or field added,
removed or changed on the server without regenerating ``_models.py`` fails here."""

from __future__ import annotations

import importlib.util
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

SDK_ROOT = Path(__file__).resolve().parents[1]


def load_generator() -> Any:
    path = SDK_ROOT / "scripts" / "generate_models.py"
    spec = importlib.util.spec_from_file_location("generate_models", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_models"] = module
    spec.loader.exec_module(module)
    return module


def test_models_match_the_servers_schema(server: Any) -> None:
    with urllib.request.urlopen(f"{server.base_url}/openapi.json", timeout=30) as response:
        document = json.load(response)
    generator = load_generator()
    expected = generator.generate(document)
    committed = (SDK_ROOT / "src" / "cohera" / "_models.py").read_text()
    assert committed == expected, (
        "src/cohera/_models.py differs from what the server's OpenAPI document generates: run "
        "/usr/bin/python3 sdks/python/scripts/generate_models.py and review the diff"
    )
    # Deterministic: the same document gives the same text, whatever the order of its paths.
    shuffled = {**document, "paths": dict(reversed(list(document["paths"].items())))}
    assert generator.generate(shuffled) == expected


def test_the_resources_return_the_generated_models() -> None:
    import cohera._models as models
    from cohera.types import Certificate, Product, Supplier

    assert Supplier is models.Supplier and Product is models.Product and Certificate is models.Certificate
    assert {"id", "object", "status", "expires_at"} <= set(Certificate.__annotations__)
