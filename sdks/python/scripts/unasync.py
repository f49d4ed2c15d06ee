#!/usr/bin/python3
"""Writes the synchronous client (``src/cohera/_sync``) from the asynchronous one (``src/cohera/_async``).

    /usr/bin/python3 sdks/python/scripts/unasync.py           # regenerate
    /usr/bin/python3 sdks/python/scripts/unasync.py --check   # exit 1 when _sync is stale

Why a generator: the clients must have the same surface and behaviour, and Python's typing cannot express
"returns T, or an awaitable of T" for one method body. Request building, retry decisions, errors and
pagination are shared sans-I/O code (``_request.py``, ``_pagination.py``); what is left — the resource
methods and the send loop — is written once, async, and this script removes the ``async``/``await`` and
renames the async types (the technique httpcore's ``unasync.py`` uses). Files named ``_resource.py`` are
hand-written in both trees (lists differ in shape: a lazy awaitable pager against an eager page).
tests/test_unasync.py fails when the generated tree is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cohera"
SOURCE = PACKAGE / "_async"
TARGET = PACKAGE / "_sync"
HAND_WRITTEN = {"_resource.py", "__init__.py"}  # paths relative to _async

#: Applied in order, each a whole-word regular expression.
REPLACEMENTS = [
    (r"async def ", "def "),
    (r"async for ", "for "),
    (r"async with ", "with "),
    (r"await ", ""),
    (r"\bimport asyncio\b", "import time"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    (r"\baclose\b", "close"),
    (r"\baiter_lines\b", "iter_lines"),
    (r"\baread\b", "read"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\bAsyncPager\b", "Page"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncCohera\b", "Cohera"),
    (r"\bAsyncTransport\b", "Transport"),
    (r"\bAsyncResource\b", "Resource"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"The asynchronous", "The synchronous"),
    (r"asynchronous", "synchronous"),
]
BANNER = "# GENERATED from _async/{name} by scripts/unasync.py: edit the async source, not this.\n"


def convert(text: str) -> str:
    for pattern, replacement in REPLACEMENTS:
        text = re.sub(pattern, replacement, text)
    return text


def expected() -> dict[Path, str]:
    files = {}
    for source in sorted(SOURCE.rglob("*.py")):
        relative = source.relative_to(SOURCE)
        if relative.as_posix() in HAND_WRITTEN:
            continue
        files[TARGET / relative] = BANNER.format(name=relative.as_posix()) + convert(source.read_text())
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description="Generate cohera/_sync from cohera/_async")
    parser.add_argument("--check", action="store_true", help="exit 1 when cohera/_sync is stale")
    args = parser.parse_args()
    stale = []
    for path, text in expected().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        names = ", ".join(str(path.relative_to(PACKAGE)) for path in stale)
        print(f"stale: {names}; run scripts/unasync.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
