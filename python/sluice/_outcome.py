"""One upstream outcome as the JSON the C ABI reads (sluice_classify,
sluice_engine_learn, sluice_slot_learn): shared by classify() and learn()."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def headers_json(headers: Any) -> Any:
    """A mapping, a list of (name, value) pairs, or httpx.Headers (order and
    repeated names kept) as JSON; numbers stay numbers."""
    if headers is None:
        return None

    def value(v: Any) -> Any:
        return v if isinstance(v, (str, int, float)) else str(v)

    if isinstance(headers, Mapping) and not hasattr(headers, "multi_items"):
        return {str(k): value(v) for k, v in headers.items()}
    items = headers.multi_items() if hasattr(headers, "multi_items") else headers
    return [[str(k), value(v)] for k, v in items]


def outcome(status=None, headers=None, body=None, transport=None, provider=None,
            fields: Mapping[str, Any] | None = None) -> dict:
    out: dict[str, Any] = dict(fields or {})
    if status is not None:
        out["status"] = status
    if headers is not None:
        out["headers"] = headers_json(headers)
    if body is not None:
        out["body"] = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if provider is not None:
        out["provider"] = provider
    if transport is not None:
        out["transport"] = transport
    return out
