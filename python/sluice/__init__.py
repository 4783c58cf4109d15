"""sluice in-process: the policy core of the sluice LLM gateway for Python agents.

    >>> import sluice
    >>> v = sluice.classify(status=429, provider="zai",
    ...                     body='{"error":{"code":"1302","message":"High concurrency"}}')
    >>> v["class"], v["lower_limit"]
    ('CONCURRENCY_LIMIT', True)

The same verdicts as `sluice classify` and a running gateway, from the same
code (libsluice). In-process, sluice.Engine gives slots, learning and the
status page, and sluice.HTTPTransport sends httpx requests (and so the
OpenAI and Anthropic SDKs) through the whole engine. docs/library.md.
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

from . import _native, _outcome

from ._engine import Engine, Slot, SlotRefused, SlotTimeout

__all__ = [
    "classify", "check_config", "version", "SluiceError",
    "Engine", "Slot", "SlotRefused", "SlotTimeout", "HTTPTransport", "AsyncHTTPTransport",
]


def __getattr__(name: str):
    # httpx is needed only by the transports: import it when they are used.
    if name in ("HTTPTransport", "AsyncHTTPTransport"):
        from . import _httpx
        return getattr(_httpx, name)
    raise AttributeError(f"module 'sluice' has no attribute {name!r}")

Headers = Union[Mapping[str, Any], Sequence[Sequence[Any]], None]


from ._errors import SluiceError


def version() -> str:
    """sluice's version, e.g. "0.1.0"."""
    return _native.lib.sluice_version().decode("ascii")


def classify(
    status: Optional[int] = None,
    headers: Headers = None,
    body: Union[str, bytes, Mapping[str, Any], None] = None,
    provider: Optional[str] = None,
    transport: Optional[str] = None,
    **fields: Any,
) -> dict:
    """The verdict for one upstream outcome: its class, traits and wait hint.

    status     the HTTP status, or None for a transport failure
    headers    a mapping, a list of (name, value) pairs, or httpx.Headers
    body       the response body (str, bytes, or an already parsed JSON object)
    provider   "zai", "kimi", "anthropic", "openai", ... or a base URL
    transport  "connect", "timeout", "reset", "eof", "tls", or an exception's text
    fields     anything else `sluice classify` reads: error, message, stream,
               request, now, label

    Returns a dict: {"class", "retryable", "rotate_key", "cool_key",
    "cooldown_s", "disable_key", "lower_limit", "fallback", "client_status",
    "wait_s", "rule", "ratelimit": {...}}; {"class": None, "ok": True} for a
    success. Raises SluiceError for a bad argument.
    """
    outcome = _outcome.outcome(status, headers, body, transport, provider, fields)
    text = _json.dumps(outcome, default=str).encode("utf-8")
    verdict = _native.call_json(_native.lib.sluice_classify, text)
    if "error" in verdict:
        raise SluiceError(verdict["error"])
    return verdict


def check_config(source: str, *, text: bool = False) -> dict:
    """Checks a gateway config, as `sluice check-config` does.

    `source` is a file path (or, with text=True, the YAML itself). Returns
    {"ok", "errors": [{"path", "line", "column", "message"}], "warnings",
    "description"}; never raises for a bad config, only for a missing file.
    """
    if text:
        yaml, name = source, "sluice.yaml"
    else:
        with open(source, encoding="utf-8") as f:
            yaml, name = f.read(), source
    return _native.call_json(
        _native.lib.sluice_check_config, yaml.encode("utf-8"), name.encode("utf-8")
    )
