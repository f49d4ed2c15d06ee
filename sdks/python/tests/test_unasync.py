"""The synchronous client is generated from the asynchronous one; the committed copy must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SDK_ROOT = Path(__file__).resolve().parents[1]


def test_sync_client_is_generated_from_the_async_one() -> None:
    done = subprocess.run(
        [sys.executable, str(SDK_ROOT / "scripts" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
