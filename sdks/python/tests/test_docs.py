"""The Python twins of the TypeScript examples in docs/*.md, run as written against the session's server.

The convention is tests/snippets.py's (the same as the README's): every ```python block runs unless the
line before its fence says ``<!-- not run: reason -->``. The Node test of docs/webhooks.md
(packages/server/test/webhooks/docs-snippets.test.ts) runs that page's standard-library snippets, which are
marked ``<!-- snippet: … -->`` and are skipped here (they read a body and headers from stdin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from snippets import Block, Context, make_context, python_blocks, run

DOCS = Path(__file__).resolve().parents[3] / "docs"
BLOCKS = [
    block
    for page in sorted(DOCS.glob("*.md"))
    for block in python_blocks(page, f"docs/{page.name}")
]


@pytest.fixture(scope="module")
def context(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Context:
    return make_context(server, tmp_path_factory.mktemp("docs"))


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_docs_block(block: Block, context: Context) -> None:
    if block.skip:
        pytest.skip(f"marked not run: {block.skip}")
    run(block, context)
