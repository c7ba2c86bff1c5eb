"""A small Ethereum JSON-RPC client over HTTP (aiohttp), batching calls into one request.

aiohttp rather than a new dependency: it is already installed (ccxt's websocket transport)
and the chain feed needs only POSTs of JSON. Every call comes back as the request it answered
and the node's response object, exactly as received, so the feed can hand both to
``ChainConnector.parse`` and to a recorder::

    ({"method": "eth_blockNumber", "params": []},
     {"jsonrpc": "2.0", "id": 0, "result": "0xa81c7a"})

A transport failure (HTTP 5xx, a dropped connection, a timeout) raises; a JSON-RPC ``error``
inside a response is data (the caller decides), except through ``call``, which raises
``RpcError`` for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp

Request = dict[str, Any]
Response = dict[str, Any]

_TOO_MANY = ("more than", "too many", "limit exceeded", "response size", "block range")


class RpcError(Exception):
    """A JSON-RPC error answer: its method, code and message."""

    def __init__(self, method: str, error: Any) -> None:
        error = error if isinstance(error, dict) else {"message": str(error)}
        self.method = method
        self.code = error.get("code")
        self.message = str(error.get("message", ""))
        super().__init__(f"{method}: {self.code} {self.message}")

    @property
    def too_many_results(self) -> bool:
        """The node refuses an ``eth_getLogs`` range as too large (Infura's -32005, and the
        wordings of other providers: "query returned more than 10000 results", "Log response
        size exceeded", "block range is too wide")."""
        text = self.message.lower()
        return self.code == -32005 or any(words in text for words in _TOO_MANY)


class JsonRpcClient:
    """POSTs JSON-RPC requests to one node URL over a caller-owned ``aiohttp`` session."""

    def __init__(self, session: aiohttp.ClientSession, url: str, *, max_batch: int = 100) -> None:
        self.session = session
        self.url = url
        # Calls per HTTP request: providers cap batches (often at 100 to 1000 calls); a node
        # that refuses a batch makes it smaller, down to single calls.
        self.max_batch = max_batch
        self._next_id = 0

    async def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[tuple[Request, Response]]:
        """``calls`` (method, params) in batches of at most ``max_batch``; their (request,
        response) in order. A refused batch is sent again in smaller pieces, down to one."""
        answers: list[tuple[Request, Response]] = []
        start = 0
        while start < len(calls):
            size = self.max_batch
            try:
                answers += await self._batch(calls[start : start + size])
            except RpcError as exc:
                if exc.method != "batch" or size == 1:
                    raise
                self.max_batch = max(1, size // 10)  # the node refused: smaller batches
                continue
            start += size
        return answers

    async def _batch(
        self, calls: Sequence[tuple[str, list[Any]]]
    ) -> list[tuple[Request, Response]]:
        if not calls:
            return []
        requests = [{"method": method, "params": params} for method, params in calls]
        ids = list(range(self._next_id, self._next_id + len(calls)))
        self._next_id += len(calls)
        payload = [
            {"jsonrpc": "2.0", "id": id_, **request}
            for id_, request in zip(ids, requests, strict=True)
        ]
        body = await self._post(payload if len(payload) > 1 else payload[0])
        answers = body if isinstance(body, list) else [body]
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        if len(payload) > 1 and not isinstance(body, list):
            refusal = body.get("error") if isinstance(body, dict) else None
            raise RpcError("batch", refusal or "the node refused a batch")
        missing = [i for i in ids if i not in by_id]
        if missing and len(payload) == 1 and len(answers) == 1 and isinstance(answers[0], dict):
            by_id[ids[0]] = answers[0]  # a node answering a single call with another id
        elif missing:
            raise RpcError("batch", f"no answer for request ids {missing}")
        return [(request, by_id[i]) for request, i in zip(requests, ids, strict=True)]

    async def call(self, method: str, params: list[Any]) -> tuple[Request, Response]:
        """One call; ``RpcError`` if the node answers with an error."""
        ((request, response),) = await self.batch([(method, params)])
        if response.get("error") is not None:
            raise RpcError(method, response["error"])
        return request, response

    async def _post(self, payload: Any) -> Any:
        async with self.session.post(self.url, json=payload) as answer:
            if answer.status >= 400:
                text = (await answer.text())[:200]
                raise aiohttp.ClientResponseError(
                    answer.request_info,
                    answer.history,
                    status=answer.status,
                    message=f"HTTP {answer.status} from the node: {text}",
                )
            return await answer.json(content_type=None)
