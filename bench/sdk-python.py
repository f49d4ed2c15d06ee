"""What the Python SDK costs a caller per request, against a bare httpx request doing the same call.

Driven by bench/sdk-python.ts (which starts the bare Fastify route of bench/baseline-server.ts and passes
its URL); prints one JSON line. Rows, interleaved round by round so drift hits them alike:

- py-httpx-canned: ``httpx.Client.get`` + ``.json()`` with the Authorization header, answered in process
  by an ``httpx.MockTransport`` with the real server's certificate response: the least any client does;
- py-sdk-canned: ``client.certificates.retrieve(id)`` on the same transport (URL, headers, retry loop,
  error mapping, rate-limit parse): the SDK's own cost, with no network in either;
- py-httpx-local / py-sdk-local: the same two over loopback HTTP to the bare route (``--url``);
- py-sdk-service-account: the SDK on the service-account token it minted once and reuses (canned);
- py-sign-per-request: ``ServiceAccount.generate_token`` (ES256) per call, what token reuse saves.

Run it with Debian's interpreter (/usr/bin/python3: httpx, PyJWT, cryptography).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sdks" / "python" / "src"))

from cohera import Cohera  # noqa: E402
from cohera.auth import ServiceAccount  # noqa: E402

CERTIFICATE_ID = "cert_0357HqCHP1baFffZEYBPGP"
API_KEY = "ck_live_" + "B" * 32 + "000000"
HEADERS = {
    "content-type": "application/json; charset=utf-8",
    "x-request-id": "req_0357HqCHP1baFffZEYBPGS",
    "x-ratelimit-limit": "600",
    "x-ratelimit-remaining": "599",
    "x-ratelimit-reset": "1764583260",
}


def certificate_body() -> bytes:
    path = os.environ.get("BENCH_BODY_FILE")
    if path:
        return Path(path).read_bytes()
    return json.dumps(
        {
            "id": CERTIFICATE_ID,
            "object": "certificate",
            "standard": "ISO 9001",
            "number": "QMS-2026-0042",
            "issuer": "TÜV SÜD",
            "supplier_id": "sup_0357HqCHP1baFffZEYBPGQ",
            "product_ids": ["prd_0357HqCHP1baFffZEYBPGR"],
            "issued_at": "2026-01-15T00:00:00Z",
            "expires_at": "2027-01-31T23:59:59Z",
            "status": "valid",
            "created_at": "2026-11-22T10:00:00Z",
            "updated_at": "2026-11-22T10:00:00Z",
        },
        separators=(",", ":"),
    ).encode()


def service_account() -> ServiceAccount:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ServiceAccount.from_dict(
        {
            "type": "service_account",
            "service_account_id": "sa_0357HqCHP1baFffZEYBPGT",
            "org_id": "org_0357HqCHP1baFffZEYBPGU",
            "private_key_id": "sak_0357HqCHP1baFffZEYBPGV",
            "private_key": pem.decode(),
            "algorithm": "ES256",
            "issuer": "cohera.io",
            "audience": "https://api.cohera.io",
            "api_base_url": "http://127.0.0.1:9",
        }
    )


def time_ns_per_op(operation: Callable[[], object], iterations: int) -> float:
    gc.collect()
    started = time.perf_counter_ns()
    for _ in range(iterations):
        operation()
    return (time.perf_counter_ns() - started) / iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="base URL of a bare local route serving GET /v1/certificates/:id")
    parser.add_argument("--iterations", type=int, default=int(os.environ.get("BENCH_PY_ITERATIONS", 2000)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_PY_ROUNDS", 5)))
    args = parser.parse_args()

    body = certificate_body()
    canned = httpx.MockTransport(lambda request: httpx.Response(200, headers=HEADERS, content=body))
    canned_url = "http://127.0.0.1:9"
    path = f"/v1/certificates/{CERTIFICATE_ID}"
    auth = {"authorization": f"Bearer {API_KEY}"}

    bare_canned = httpx.Client(transport=canned)
    sdk_canned = Cohera(api_key=API_KEY, base_url=canned_url, http_client=httpx.Client(transport=canned))
    sa = service_account()
    sdk_sa = Cohera(
        service_account=sa,
        scopes=["read:certificates"],
        base_url=canned_url,
        http_client=httpx.Client(transport=canned),
    )

    rows: dict[str, Callable[[], object]] = {
        "py-httpx-canned": lambda: bare_canned.get(f"{canned_url}{path}", headers=auth).json(),
        "py-sdk-canned": lambda: sdk_canned.certificates.retrieve(CERTIFICATE_ID),
        "py-sdk-service-account": lambda: sdk_sa.certificates.retrieve(CERTIFICATE_ID),
        "py-sign-per-request": lambda: sa.generate_token(scopes=["read:certificates"], expires_in=3600),
    }
    if args.url:
        bare_local = httpx.Client()
        sdk_local = Cohera(api_key=API_KEY, base_url=args.url, http_client=httpx.Client())
        rows["py-httpx-local"] = lambda: bare_local.get(f"{args.url}{path}", headers=auth).json()
        rows["py-sdk-local"] = lambda: sdk_local.certificates.retrieve(CERTIFICATE_ID)

    # The bare route does not check the key; the SDK call must still return the same object as httpx.
    checked = ["py-httpx-canned", "py-sdk-canned"] + (["py-httpx-local", "py-sdk-local"] if args.url else [])
    for name in checked:
        result = rows[name]()
        assert isinstance(result, dict) and result["id"] == CERTIFICATE_ID, f"{name} returned {result!r}"
    for operation in rows.values():  # warm-up: connection pools, imports, caches
        for _ in range(max(50, args.iterations // 20)):
            operation()

    rounds_ns: dict[str, list[float]] = {name: [] for name in rows}
    cpu_started = time.process_time()
    wall_started = time.perf_counter()
    for _ in range(args.rounds):
        for name, operation in rows.items():
            rounds_ns[name].append(time_ns_per_op(operation, args.iterations))
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started

    print(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "httpx": httpx.__version__,
                "iterations": args.iterations,
                "rounds": args.rounds,
                "nsPerOp": {name: statistics.median(values) for name, values in rounds_ns.items()},
                "roundsNs": rounds_ns,
                # Of the wall time, how much this process spent on the CPU (the rest: waiting for the server).
                "cpuPct": round(100 * cpu / wall, 1) if wall > 0 else None,
            }
        )
    )


if __name__ == "__main__":
    main()
