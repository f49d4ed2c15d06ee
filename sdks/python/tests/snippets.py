"""Running the ```python blocks of a Markdown page as a reader would, against the session's server.

The convention, shared by tests/test_readme.py (sdks/python/README.md) and tests/test_docs.py (docs/*.md):

- Every ```python block runs, top to bottom, each in a fresh namespace, in a temporary working directory
  that holds a real ``service-account.json`` (an account with read:certificates and read:suppliers).
- A block that cannot run (a ``pip install``, a Flask or FastAPI app, a fragment continuing the page's
  previous block) has ``<!-- not run: <reason> -->`` on the line right before its fence. Blocks marked
  ``<!-- snippet: name -->`` belong to the Node test of docs/webhooks.md and are skipped here.
- The environment has ``COHERA_BASE_URL`` (the session server), ``COHERA_API_KEY`` and ``ADMIN_KEY`` (its
  admin key), ``COHERA_CLIENT_ID`` / ``COHERA_CLIENT_SECRET`` / ``COHERA_WEBHOOK_SECRET`` (also as
  ``WEBHOOK_SECRET``) of a real app and endpoint, and ``OLD_KEY_ID``: a key made for this block alone (the
  rotation examples roll it), and ``USER_ID``: a person who joined the organization through a real
  invitation for this block alone, as a ``member`` (the team examples change their role and remove them).
  The working directory also holds ``certificate-reader.json`` and
  ``certificate-writer.json``, the key files of two accounts limited to those scopes.
- A block may end the way a script does, with ``raise SystemExit(<status>)`` (1 when a check fails): the
  status is the script's answer. ``SystemExit("message")`` is the example reporting an error: a failure.
- Placeholders are replaced with those real values: ``"ck_live_..."`` (the admin key), ``"your-client-id"``
  / ``"your-client-secret"`` (an app registered with the reference's redirect URI
  ``https://yourapp.com/callback``), ``"whsec_..."`` (the endpoint's signing secret).
- Names a page uses without defining, as the reference does with its web framework's ``request``: ``request``
  (``request.args.get("code")`` signs in and consents, over HTTP, to the ``auth_url`` the block built, and
  returns the callback's code), ``raw_body`` / ``headers`` (a real delivery the server signed with that
  endpoint secret).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FENCE = re.compile(r"^(?P<indent> *)```python[^\n]*\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<reason>[^>]+?)\s*-->\s*$")
#: docs/webhooks.md's standard-library snippets: run by the Node docs-snippets test with stdin input.
NODE_SNIPPET = re.compile(r"<!--\s*snippet:\s*[\w-]+\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    code: str
    #: Why the page marks it as not runnable, or None.
    skip: str | None

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def python_blocks(path: Path, page: str) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = NOT_RUN.search(before)
        indent = len(match.group("indent"))
        code = "\n".join(line[indent:] for line in match.group("code").split("\n"))
        blocks.append(
            Block(
                page=page,
                line=text.count("\n", 0, match.start()) + 1,
                code=code,
                skip=(
                    marker.group("reason")
                    if marker
                    else "run by packages/server/test/webhooks/docs-snippets.test.ts"
                    if NODE_SNIPPET.search(before)
                    else None
                ),
            )
        )
    return blocks


@dataclass
class Context:
    """The real values a snippet's placeholders and free names stand for."""

    base_url: str
    api_key: str
    client_id: str
    client_secret: str
    webhook_secret: str
    raw_body: bytes
    headers: Mapping[str, str]
    #: Signs in and consents to an authorization URL; returns the callback URL.
    authorize: Callable[[str], str]
    #: A new API key's id, for a block that rolls or revokes one.
    new_key_id: Callable[[], str]
    #: A new member's user id, for a block that changes or removes one.
    new_member_id: Callable[[], str]
    workdir: Path

    def replacements(self) -> dict[str, str]:
        return {
            '"ck_live_..."': repr(self.api_key),
            '"your-client-id"': repr(self.client_id),
            '"your-client-secret"': repr(self.client_secret),
            '"whsec_..."': repr(self.webhook_secret),
        }

    def environment(self) -> dict[str, str]:
        return {
            "COHERA_BASE_URL": self.base_url,
            "COHERA_API_KEY": self.api_key,
            "COHERA_CLIENT_ID": self.client_id,
            "COHERA_CLIENT_SECRET": self.client_secret,
            "COHERA_WEBHOOK_SECRET": self.webhook_secret,
            "WEBHOOK_SECRET": self.webhook_secret,
            "ADMIN_KEY": self.api_key,
        }


class _Args:
    """``request.args`` of the app's callback: the code for the ``auth_url`` the snippet built."""

    def __init__(self, namespace: dict[str, Any], context: Context) -> None:
        self._namespace = namespace
        self._context = context
        self._callback: dict[str, str] | None = None

    def _params(self) -> dict[str, str]:
        if self._callback is None:
            auth_url = self._namespace.get("auth_url")
            assert isinstance(auth_url, str), "the snippet reads the callback before building auth_url"
            callback = self._context.authorize(auth_url)
            self._callback = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
        return self._callback

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._params().get(name, default)

    def __getitem__(self, name: str) -> str:
        return self._params()[name]


class _Request:
    def __init__(self, namespace: dict[str, Any], context: Context) -> None:
        self.args = _Args(namespace, context)


def prepare(code: str, context: Context) -> str:
    for placeholder, value in context.replacements().items():
        code = code.replace(placeholder, value)
    return code


@contextlib.contextmanager
def _environment(values: Mapping[str, str], workdir: Path) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    previous = os.getcwd()
    os.environ.update(values)
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(previous)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run(block: Block, context: Context) -> dict[str, Any]:
    """Executes one block as the page shows it (placeholders replaced); returns its namespace."""
    namespace: dict[str, Any] = {"__name__": f"snippet_{block.line}"}
    namespace["request"] = _Request(namespace, context)
    namespace["raw_body"] = context.raw_body
    namespace["headers"] = dict(context.headers)
    source = prepare(block.code, context)
    environment = context.environment()
    if "OLD_KEY_ID" in source:
        environment["OLD_KEY_ID"] = context.new_key_id()
    if "USER_ID" in source:
        environment["USER_ID"] = context.new_member_id()
    with _environment(environment, context.workdir):
        try:
            exec(compile(source, block.name, "exec"), namespace)  # noqa: S102 (the page's code, by design)
        except SystemExit as stop:
            # A status (0, 1) is a script's answer; a message is the example reporting an error.
            if not (stop.code is None or isinstance(stop.code, int)):
                raise AssertionError(f"{block.name} stopped: {stop.code}") from None
    return namespace


def make_context(server: Any, workdir: Path) -> Context:
    """Real values for the placeholders: an app, an endpoint and a delivery, a service-account file."""
    # Imported here: these helpers need the server fixture's package layout, the parser above does not.
    from auth_support import Browser, admin, register_client, write_service_account_file
    from team_support import join
    from webhook_support import real_delivery

    app = register_client(
        server,
        redirect_uris=["https://yourapp.com/callback", "http://127.0.0.1:9/callback"],
        scopes=["read:certificates", "read:suppliers", "read:products"],
        name="Snippets app",
    )
    write_service_account_file(server, workdir, ["read:certificates", "read:suppliers"])
    for job, scopes in (("reader", ["read:certificates"]), ("writer", ["write:certificates"])):
        folder = workdir / job
        folder.mkdir()
        write_service_account_file(server, folder, scopes).rename(workdir / f"certificate-{job}.json")
    delivery = real_delivery(server)

    def new_key_id() -> str:
        with admin(server) as api:
            made = api.post("/v1/api-keys", json={"name": "Snippet key", "scopes": ["read:certificates"]})
            assert made.status_code == 201, made.text
            key_id: str = made.json()["id"]
            return key_id

    def new_member_id() -> str:
        from cohera import Cohera

        with Cohera(api_key=server.api_key, base_url=server.base_url) as client:
            user_id: str = join(client, "member")["user_id"]
            return user_id

    def authorize(auth_url: str) -> str:
        with Browser(server.base_url) as browser:
            return browser.authorize(auth_url, server.email, server.password)

    return Context(
        base_url=server.base_url,
        api_key=server.api_key,
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        webhook_secret=delivery.secret,
        raw_body=delivery.body,
        headers=delivery.headers,
        authorize=authorize,
        new_key_id=new_key_id,
        new_member_id=new_member_id,
        workdir=workdir,
    )
