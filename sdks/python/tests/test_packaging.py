"""The package as users get it: mypy --strict clean, a wheel that builds with Debian's setuptools and
installs into a fresh ``venv --system-site-packages`` (httpx, PyJWT, cryptography from Debian), and
works there against the real server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

SDK_ROOT = Path(__file__).resolve().parents[1]


def test_mypy_strict() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict"],
        cwd=SDK_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def build_wheel(out: Path) -> Path:
    """setuptools' PEP 517 backend called directly (neither ``python -m build`` nor the network is
    needed), on a copy of the sources: setuptools writes build/ and *.egg-info beside what it builds."""
    source = out / "source"
    shutil.copytree(
        SDK_ROOT,
        source,
        ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__", ".mypy_cache"),
    )
    script = "import sys, setuptools.build_meta as backend; print(backend.build_wheel(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", script, str(out)], cwd=source, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return out / done.stdout.strip().splitlines()[-1]


def test_wheel_builds_and_installs_into_a_fresh_venv(tmp_path: Path, server: Any) -> None:
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "cohera/py.typed" in names and "cohera/_sync/client.py" in names
    assert not any(name.startswith("tests/") or "HANDOFF" in name for name in names)

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True
    )
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    program = (
        "import cohera, os; from cohera import Cohera; from cohera.auth import OAuth2, ServiceAccount; "
        "client = Cohera(); print(cohera.__file__); print(client.whoami()['org_id'])"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)},
        "COHERA_API_KEY": server.api_key,
        "COHERA_BASE_URL": server.base_url,
    }
    run = subprocess.run(
        [str(python), "-c", program], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    location, org_id = run.stdout.split()
    assert location.startswith(str(venv)) and org_id == server.org_id
