"""The test session's real Cohera server, shared by every test module of the Python SDK.

Fixture contract (tests/test_auth*.py and tests/test_webhooks*.py rely on it; change it only additively):

``server`` (session scope) yields a :class:`Server`:

- ``base_url``: ``http://127.0.0.1:<free port>`` of a real ``cohera server`` (the repository's CLI on its
  pinned Node 24, embedded SQLite in a fresh temporary ``COHERA_DATA_DIR``), answering ``/health``.
  ``COHERA_PUBLIC_URL`` is that same URL, so OAuth redirects and the token issuer name it.
  ``COHERA_WEBHOOKS_ALLOW_PRIVATE=true``: webhook endpoints may be ``http://127.0.0.1:<port>`` receivers;
  ``COHERA_WEBHOOK_RETRY_SCHEDULE=1,1,1``: a failed delivery is retried within seconds.
- ``api_key``: the ``admin`` ``ck_live_…`` key printed by ``cohera admin bootstrap --json``.
- ``org_id``, ``user_id``, ``email``, ``password``: the bootstrap organization and its owner (the owner
  signs in to the OAuth login form with ``email`` and ``password``).
  That organization is on the enterprise tier with generous custom limits (100 000/min), so the session
  never trips a rate limit by accident.
- ``bootstrap(org=…, email=…, tier=…, per_minute=…, per_day=…)``: another organization (its own
  ``Bootstrap`` with the same fields), e.g. one with a tiny per-minute limit to provoke a real 429.
- ``cli(*args)``: runs ``cohera <args>`` against the same data directory and returns its stdout.
- ``data_dir``: the server's data directory (deleted after the session).

The server is stopped (its whole process group) and the directory removed when the session ends. Nothing
listens on anything but 127.0.0.1.

``client`` (function scope): a ``cohera.Cohera`` with ``api_key``. ``rate_limit_probe`` (session, autouse)
starts with the first test: a real 429 retried in a background thread (up to 60 s of waiting for the next
clock minute) that overlaps the rest of the session and is read by tests/test_retries.py.

Missing Debian packages (python3-httpx, python3-jwt, python3-cryptography) end the session before
collection: with status 0 and a message on a developer's machine, with status 1 under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SDK_ROOT = Path(__file__).resolve().parents[1]
CLI = REPO_ROOT / "packages" / "cli" / "bin" / "cohera.js"
#: ``npm ci`` installs the pinned Node 24 here (the ``node`` devDependency); the system Node may be older.
NODE = REPO_ROOT / "node_modules" / ".bin" / "node"
START_TIMEOUT_SECONDS = 60.0
#: The bootstrap organization's limits: high enough that no test trips them by accident.
GENEROUS_PER_MINUTE = 100_000
GENEROUS_PER_DAY = 10_000_000


def pytest_configure(config: pytest.Config) -> None:
    missing = []
    for module in ("httpx", "jwt", "cryptography"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        # Before collection: the test modules import cohera, which imports these.
        pytest.exit(
            f"the Python SDK's tests need {', '.join(missing)} (Debian: apt-get install python3-httpx "
            "python3-jwt python3-cryptography); run them with /usr/bin/python3"
            + ("" if os.environ.get("CI") == "true" else " (not run)"),
            returncode=1 if os.environ.get("CI") == "true" else 0,
        )


@dataclass(frozen=True)
class Bootstrap:
    """An organization made by ``cohera admin bootstrap`` and its owner (``password``, ``api_key``: shown
    once)."""

    org_id: str
    user_id: str
    email: str
    # Kept out of repr: pytest prints fixtures' reprs in failure reports and with --showlocals.
    password: str = field(repr=False)
    api_key: str = field(repr=False)


@dataclass
class Server:
    base_url: str
    data_dir: Path
    env: dict[str, str] = field(repr=False)
    owner: Bootstrap = field(init=False)

    @property
    def api_key(self) -> str:
        return self.owner.api_key

    @property
    def org_id(self) -> str:
        return self.owner.org_id

    @property
    def user_id(self) -> str:
        return self.owner.user_id

    @property
    def email(self) -> str:
        return self.owner.email

    @property
    def password(self) -> str:
        return self.owner.password

    def cli(self, *args: str) -> str:
        """Runs ``cohera <args>`` on this server's data directory; fails the test on a non-zero exit."""
        done = subprocess.run(
            [str(NODE), str(CLI), *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise AssertionError(f"cohera {' '.join(args[:2])} exited {done.returncode}: {done.stderr}")
        return done.stdout

    def bootstrap(
        self,
        *,
        org: str,
        email: str,
        tier: str = "free",
        per_minute: int | None = None,
        per_day: int | None = None,
    ) -> Bootstrap:
        """A new organization; ``per_minute``/``per_day`` move it to the enterprise tier with those limits."""
        made = json.loads(self.cli("admin", "bootstrap", "--org", org, "--email", email, "--json"))
        created = Bootstrap(
            org_id=made["org_id"],
            user_id=made["user_id"],
            email=made["email"],
            password=made["password"],
            api_key=made["api_key"],
        )
        if per_minute is not None or per_day is not None:
            self.set_tier(
                created.org_id,
                "enterprise",
                per_minute=per_minute or GENEROUS_PER_MINUTE,
                per_day=per_day or GENEROUS_PER_DAY,
            )
        elif tier != "free":
            self.set_tier(created.org_id, tier)
        return created

    def set_tier(
        self, org_id: str, tier: str, *, per_minute: int | None = None, per_day: int | None = None
    ) -> None:
        args = ["admin", "set-tier", "--org", org_id, "--tier", tier]
        if per_minute is not None:
            args += ["--per-minute", str(per_minute)]
        if per_day is not None:
            args += ["--per-day", str(per_day)]
        self.cli(*args)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _server_env(data_dir: Path, port: int) -> dict[str, str]:
    # The server rejects unknown COHERA_* settings, and a developer's own COHERA_API_KEY must not leak
    # into the tests: start from the environment without any of them.
    env = {name: value for name, value in os.environ.items() if not name.startswith("COHERA_")}
    env.update(
        COHERA_DATA_DIR=str(data_dir),
        COHERA_PORT=str(port),
        COHERA_HOST="127.0.0.1",
        COHERA_PUBLIC_URL=f"http://127.0.0.1:{port}",
        COHERA_LOG_LEVEL="warn",
        # Webhook endpoints on loopback receivers (the tests' own); nothing is ever sent off the machine.
        COHERA_WEBHOOKS_ALLOW_PRIVATE="true",
        # A failed delivery is retried within seconds (the default waits 5 s, then 5 min).
        COHERA_WEBHOOK_RETRY_SCHEDULE="1,1,1",
    )
    return env


@contextmanager
def running_server() -> Iterator[Server]:
    """Starts a server with its bootstrap organization; stops it and removes its data on exit."""
    if not NODE.exists():
        raise RuntimeError(f"{NODE} is missing: run `npm install` in {REPO_ROOT} first")
    data_dir = Path(tempfile.mkdtemp(prefix="cohera-python-sdk-"))
    port = _free_port()
    env = _server_env(data_dir, port)
    base_url = f"http://127.0.0.1:{port}"
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        # A session of its own, so the whole process group (node and anything it forks) stops at the end.
        process = subprocess.Popen(
            [str(NODE), str(CLI), "server"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(base_url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cohera server did not start:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.1)
        running = Server(base_url=base_url, data_dir=data_dir, env=env)
        running.owner = running.bootstrap(
            org="Python SDK tests",
            email="owner@python-sdk.test",
            per_minute=GENEROUS_PER_MINUTE,
            per_day=GENEROUS_PER_DAY,
        )
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with running_server() as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def rate_limit_probe(server: Server) -> Iterator[Future[dict[str, Any]]]:
    """A real 429 retried after the ``Retry-After`` the server sent, run in a background thread.

    Rate-limit windows are clock minutes, so the retry waits up to 60 s for the next one. The probe starts
    with the session's first test and runs while the rest of the suite does; test_retries.py reads its
    result. ``tests/test_retries.py::rate_limited_retry`` says what it does.
    """
    from test_retries import rate_limited_retry

    outcome: Future[dict[str, Any]] = Future()
    # Made here, not in the thread: CLI runs write the database, and tests run CLI commands too.
    throttled = server.bootstrap(
        org="Throttled", email="throttled@python-sdk.test", per_minute=2, per_day=GENEROUS_PER_DAY
    )

    def probe() -> None:
        try:
            outcome.set_result(rate_limited_retry(server.base_url, throttled))
        except BaseException as error:  # handed to the test that reads the outcome
            outcome.set_exception(error)

    # A daemon thread: a session that never reads the outcome (a subset of the tests) does not wait for it.
    threading.Thread(target=probe, name="rate-limit-probe", daemon=True).start()
    yield outcome


@pytest.fixture()
def client(server: Server) -> Iterator[Any]:
    """A ``cohera.Cohera`` with the bootstrap organization's admin key (closed after the test)."""
    from cohera import Cohera

    with Cohera(api_key=server.api_key, base_url=server.base_url) as made:
        yield made
