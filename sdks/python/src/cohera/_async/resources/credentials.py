"""``/v1/credentials/revoke``: the public endpoint that takes leaked credentials.

Anyone who finds a Cohera key (a scanner, a stranger reading a public repository) can hand it in without
an account: every valid key among the strings is handled as leaked, per its organization's policy (revoked,
or flagged). The answer never says which strings were keys.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..._models import CredentialsRevokeResponse
from ..._request import RequestOptions
from .._resource import AsyncResource

#: The most strings one call may carry; ``revoke()`` sends more in batches of this size.
REVOKE_BATCH_SIZE = 1000


class AsyncCredentials(AsyncResource):
    """``client.credentials``. Its calls need no credential and send none, even when the client has one: a
    ``Cohera(anonymous=True)`` client can use them."""

    async def revoke(
        self, credentials: Iterable[str], *, options: RequestOptions | None = None
    ) -> CredentialsRevokeResponse:
        """Reports ``credentials`` as leaked; ``received`` is how many strings the server received (over
        every batch), never how many were keys. Duplicates are sent once; more than 1,000 strings go in
        several calls."""
        # A bare string is an iterable of one-character strings: refused, not reported letter by letter.
        if isinstance(credentials, (str, bytes)):
            raise TypeError("credentials must be an iterable of strings, e.g. [found_key], not one string")
        unique = list(dict.fromkeys(credentials))
        if any(not isinstance(value, str) for value in unique):
            raise TypeError("credentials must be an iterable of strings")
        received = 0
        for start in range(0, len(unique), REVOKE_BATCH_SIZE):
            answer: CredentialsRevokeResponse = await self._transport.request(
                "POST",
                "/v1/credentials/revoke",
                body={"credentials": unique[start : start + REVOKE_BATCH_SIZE]},
                options=_batch_options(options, start // REVOKE_BATCH_SIZE),
                anonymous=True,
            )
            received += answer["received"]
        return {"received": received}


def _batch_options(options: RequestOptions | None, batch: int) -> RequestOptions | None:
    """Each batch is its own request: a caller's ``idempotency_key`` gets the batch number after the first,
    so two batches never share a key."""
    if options is None or batch == 0 or "idempotency_key" not in options:
        return options
    numbered = options.copy()
    numbered["idempotency_key"] = f"{options['idempotency_key']}-{batch}"
    return numbered
