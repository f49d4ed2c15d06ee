"""Every ```python block of sdks/python/README.md, run as written against the session's server.

The convention (placeholders, ``<!-- not run: … -->``, the names a block may use without defining) is in
tests/snippets.py. The reference documentation's own examples are in the README verbatim, so this is
also the test that they run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from snippets import Block, Context, make_context, python_blocks, run

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = python_blocks(README, "README.md") if README.exists() else []


@pytest.fixture(scope="module")
def context(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Context:
    return make_context(server, tmp_path_factory.mktemp("readme"))


def test_the_readme_has_the_reference_examples() -> None:
    text = README.read_text(encoding="utf-8")
    for line in (
        'client = Cohera(api_key="ck_live_...")',
        "from cohera.auth import OAuth2",
        "tokens = oauth.exchange_code(code)",
        "if tokens.is_expired:",
        'sa = ServiceAccount.from_file("service-account.json")',
        "client = Cohera(access_token=token)",
        "from cohera.webhooks import Webhook",
    ):
        assert line in text, f"README.md lacks the reference's {line!r}"


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_readme_block(block: Block, context: Context) -> None:
    if block.skip:
        pytest.skip(f"marked not run: {block.skip}")
    run(block, context)
