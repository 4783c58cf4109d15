"""httpx transports that send through the in-process engine:

    client = httpx.Client(transport=sluice.HTTPTransport("sluice.yaml"))
    openai.OpenAI(base_url="http://sluice/v1", api_key="unused", http_client=client)

Every request goes through the same front door as `sluice serve` (aliases,
pools, throttling, fallback, retries, translation, streaming) without a
socket on the caller's side. The host in the URL is ignored; the path and
query are what the gateway would see.
"""

from __future__ import annotations

import asyncio
import json
from typing import Optional

import httpx

from . import _native
from ._engine import Call, Engine


def _read_timeout(request: httpx.Request) -> Optional[float]:
    timeout = request.extensions.get("timeout") or {}
    return timeout.get("read")


def _head(request: httpx.Request) -> tuple[str, str, list]:
    headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.headers.raw]
    return request.method, request.url.raw_path.decode("ascii"), headers


def _response(request: httpx.Request, call: Call, kind: int, data: bytes, stream) -> httpx.Response:
    if kind == _native.CALL_NONE:
        call.close()
        raise httpx.ReadTimeout("sluice: no answer within the read timeout", request=request)
    if kind != _native.CALL_HEAD:
        call.close()
        raise httpx.RemoteProtocolError(
            "sluice: " + (data.decode("utf-8", "replace") or "no answer"), request=request)
    head = json.loads(data)
    # The body is relayed as sluice got it; httpx decodes any content-encoding
    # it names and frames it itself.
    headers = [(k, v) for k, v in head["headers"] if k.lower() != "content-length"]
    return httpx.Response(head["status"], headers=headers, stream=stream, request=request)


def _body_piece(request: httpx.Request, kind: int, data: bytes) -> Optional[bytes]:
    """The next bytes of a body, None at its end; a cut or a timeout raises."""
    if kind == _native.CALL_BODY:
        return data
    if kind == _native.CALL_END:
        return None
    if kind == _native.CALL_NONE:
        raise httpx.ReadTimeout("sluice: no data within the read timeout", request=request)
    raise httpx.RemoteProtocolError("sluice: " + data.decode("utf-8", "replace"), request=request)


class _SyncBody(httpx.SyncByteStream):
    def __init__(self, call: Call, request: httpx.Request):
        self._call = call
        self._request = request

    def __iter__(self):
        timeout = _read_timeout(self._request)
        while True:
            piece = _body_piece(self._request, *self._call.next(timeout))
            if piece is None:
                return
            yield piece

    def close(self) -> None:
        # A stream closed early: the engine sees its client gone and gives
        # the permit back (never blamed on the provider).
        self._call.close()


class _AsyncBody(httpx.AsyncByteStream):
    def __init__(self, call: Call, request: httpx.Request):
        self._call = call
        self._request = request

    async def __aiter__(self):
        timeout = _read_timeout(self._request)
        while True:
            piece = _body_piece(self._request, *await self._call.anext(timeout))
            if piece is None:
                return
            yield piece

    async def aclose(self) -> None:
        self._call.close()


class HTTPTransport(httpx.BaseTransport):
    """An httpx transport into sluice's engine, from a config file or an Engine."""

    def __init__(self, config_path: Optional[str] = None, *, engine: Optional[Engine] = None):
        if (config_path is None) == (engine is None):
            raise TypeError("HTTPTransport(config_path) or HTTPTransport(engine=...)")
        self._own = engine is None
        self.engine = engine or Engine(config_path)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        method, path, headers = _head(request)
        call = Call(self.engine, method, path, headers, request.read())
        kind, data = call.next(_read_timeout(request))
        return _response(request, call, kind, data, _SyncBody(call, request))

    def close(self) -> None:
        if self._own:
            self.engine.close()


class AsyncHTTPTransport(httpx.AsyncBaseTransport):
    """HTTPTransport for httpx.AsyncClient: waits never block the event loop."""

    def __init__(self, config_path: Optional[str] = None, *, engine: Optional[Engine] = None):
        if (config_path is None) == (engine is None):
            raise TypeError("AsyncHTTPTransport(config_path) or AsyncHTTPTransport(engine=...)")
        self._own = engine is None
        self.engine = engine or Engine(config_path)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        method, path, headers = _head(request)
        body = await request.aread()
        call = Call(self.engine, method, path, headers, body, loop=asyncio.get_running_loop())
        try:
            kind, data = await call.anext(_read_timeout(request))
        except BaseException:
            call.close()  # cancelled: the engine sees its client gone
            raise
        return _response(request, call, kind, data, _AsyncBody(call, request))

    async def aclose(self) -> None:
        if self._own:
            self.engine.close()
