"""The in-process engine: slots, learning, status (the policy mode) and httpx
transports (the transport mode) over libsluice's C ABI.

The engine runs on a thread of libsluice's own. A caller's wait (for a slot,
for an answer) happens inside a C call that releases the GIL (ctypes does)
and is cut into short slices so Ctrl-C still works; an asyncio caller is
woken by a callback through loop.call_soon_threadsafe and never blocks its
loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import ctypes
import json
import threading
import time
import weakref
from typing import Any, Optional

from . import _native
from ._outcome import outcome
from ._errors import SluiceError

_lib = _native.lib
_SLICE = 0.2  # seconds per blocking C call, so signals are seen

# Engines not closed yet. Python does not promise to collect them at exit, and
# an engine's state writes (cooldowns, cursors, kept turns) are made behind
# it: closing makes the ones still queued, so other gateways learn them.
_open_engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()


@atexit.register
def _close_open_engines() -> None:
    for engine in list(_open_engines):
        engine.close()


class SlotRefused(SluiceError):
    """No slot: `code` says why ("keys_cooling", "budget_spent", "no_slot",
    "deadline", "unknown_provider", ...), `retry_after` when to ask again (s)."""

    def __init__(self, code: str, message: str, retry_after: Optional[float]):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.retry_after = retry_after


class SlotTimeout(SlotRefused, TimeoutError):
    """No slot before the deadline (`timeout=`)."""


def _refusal(result: dict) -> SlotRefused:
    cls = SlotTimeout if result.get("code") in ("no_slot", "deadline") else SlotRefused
    return cls(result.get("code", "refused"), result.get("message", ""), result.get("retry_after_s"))


def _outcome(status, headers, body, transport, fields) -> dict:
    return outcome(status, headers, body, transport, None, fields)


def _loop_waker(loop: asyncio.AbstractEventLoop, event: asyncio.Event):
    """A C callback (called on libsluice's thread) that sets `event` on `loop`."""

    def wake(_user) -> None:
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    return _native.NOTIFY(wake)


# Slots held by the running task or thread, for nested use (see Engine.slot).
_held: contextvars.ContextVar[tuple] = contextvars.ContextVar("sluice_held_slots", default=())


def _owner() -> Any:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    return task if task is not None else ("thread", threading.get_ident())


class Slot:
    """A slot on one provider key, held until release() (or the end of the
    `with` block, or garbage collection).

    key              the secret to send with (the one the pool picked)
    key_fingerprint  how sluice names the key (logs, /status)
    """

    def __init__(self, engine: "Engine", handle: int, keep: Any, result: dict):
        self._engine = engine
        self._handle = handle
        self._keep = keep  # the notify callback must outlive the handle
        self._lock = threading.Lock()
        self.provider: str = result.get("provider", "")
        self.model: str = result.get("model", "")
        self.key: str = result.get("key", "")
        self.key_fingerprint: str = result.get("key_fingerprint", "")

    def learn(self, status=None, headers=None, body=None, transport=None, **fields) -> dict:
        """What the response sent in this slot says (cooldowns, budgets,
        adaptive limits); returns the verdict."""
        text = json.dumps(_outcome(status, headers, body, transport, fields), default=str)
        with self._lock:
            if not self._handle:
                raise SluiceError("the slot was released")
            verdict = _native.call_json(_lib.sluice_slot_learn, self._handle, text.encode())
        if "error" in verdict:
            raise SluiceError(verdict["error"])
        return verdict

    def release(self) -> None:
        """Gives the slot back; a second call does nothing."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle:
            _lib.sluice_slot_release(handle)

    @property
    def held(self) -> bool:
        return self._handle is not None

    def __enter__(self) -> "Slot":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:  # interpreter shutdown
            pass


class Engine:
    """sluice's engine in this process, from a gateway config file.

    With `state: {backend: sqlite, path: ...}` or `state: {backend: redis,
    ...}` it shares cooldowns (and, with Redis, concurrency limits and
    budgets) with running `sluice serve` gateways using the same backend.
    Usable from any thread and any event loop.
    """

    def __init__(self, config_path: str):
        error = ctypes.c_void_p()
        handle = _lib.sluice_engine_open(str(config_path).encode(), ctypes.byref(error))
        if not handle:
            message = b""
            if error.value:
                message = ctypes.string_at(error.value)
                _lib.sluice_free(error.value)
            raise SluiceError(message.decode("utf-8", "replace") or "cannot open the engine")
        self._handle = handle
        _open_engines.add(self)

    def close(self) -> None:
        """Lets go of the engine. Its queued state writes are made before it
        goes, which is once the last slot or call still open is closed."""
        handle, self._handle = self._handle, None
        if handle:
            _open_engines.discard(self)
            _lib.sluice_engine_close(handle)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _live(self) -> int:
        if not self._handle:
            raise SluiceError("the engine is closed")
        return self._handle

    def status(self) -> dict:
        """What GET /status shows (never a secret)."""
        return _native.call_json(_lib.sluice_engine_status, self._live())

    def learn(self, provider: str, key: Optional[str] = None, model: Optional[str] = None,
              status=None, headers=None, body=None, transport=None, **fields) -> dict:
        """Learns from a response this process got without a slot: a 429
        benches the key, a concurrency error lowers the limit, rate-limit
        headers set the budget. Returns the verdict."""
        req = _outcome(status, headers, body, transport, fields)
        req.update(provider=provider, model=model or "")
        if key is not None:
            req["key"] = key
        verdict = _native.call_json(_lib.sluice_engine_learn, self._live(),
                                    json.dumps(req, default=str).encode())
        if "error" in verdict:
            raise SluiceError(verdict["error"])
        return verdict

    # --- slots ------------------------------------------------------------

    @staticmethod
    def _request(provider, key, model, priority, timeout, tokens) -> bytes:
        req: dict[str, Any] = {"provider": provider, "model": model or "",
                               "priority": priority, "timeout_s": timeout, "tokens": tokens}
        if key is not None:
            req["key"] = key
        return json.dumps(req).encode()

    def _granted(self, handle: int, keep: Any) -> Slot:
        """The decided slot, or its refusal raised (the handle released)."""
        result = _native.call_json(_lib.sluice_slot_result, handle)
        if result.get("state") != "granted":
            _lib.sluice_slot_release(handle)
            raise _refusal(result)
        return Slot(self, handle, keep, result)

    def acquire(self, provider: str, key: Optional[str] = None, model: Optional[str] = None,
                priority: str = "interactive", timeout: Optional[float] = None,
                tokens: int = 0) -> Slot:
        """Waits (the GIL released) for a slot; raises SlotTimeout when none is
        free before `timeout` seconds, SlotRefused when none can be had."""
        handle = _lib.sluice_slot_begin(
            self._live(), self._request(provider, key, model, priority, timeout, tokens),
            _native.NO_NOTIFY, None)
        try:
            while not _lib.sluice_slot_wait(handle, _SLICE):
                pass
        except BaseException:
            _lib.sluice_slot_release(handle)  # interrupted: nothing is left queued
            raise
        return self._granted(handle, None)

    async def aacquire(self, provider: str, key: Optional[str] = None,
                       model: Optional[str] = None, priority: str = "interactive",
                       timeout: Optional[float] = None, tokens: int = 0) -> Slot:
        """acquire() for asyncio: the loop keeps running while it waits. A
        cancelled wait leaves no permit and no queued waiter behind."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waker = _loop_waker(loop, event)
        handle = _lib.sluice_slot_begin(
            self._live(), self._request(provider, key, model, priority, timeout, tokens),
            waker, None)
        try:
            while not _lib.sluice_slot_wait(handle, 0):
                await event.wait()
                event.clear()
        except BaseException:
            _lib.sluice_slot_release(handle)
            raise
        return self._granted(handle, waker)

    @contextlib.contextmanager
    def _holding(self, provider, key, model, s: Slot):
        """`s` held by this thread or task for the block, then released."""
        token = _held.set(_held.get() + ((self, provider, key, model, _owner(), s),))
        try:
            yield s
        finally:
            _held.reset(token)
            s.release()

    def _nested(self, provider, key, model) -> Optional[Slot]:
        owner = _owner()
        for engine, p, k, m, who, slot in _held.get():
            if engine is self and (p, k, m) == (provider, key, model) and who == owner and slot.held:
                return slot
        return None

    @contextlib.contextmanager
    def slot(self, provider: str, key: Optional[str] = None, model: Optional[str] = None,
             priority: str = "interactive", timeout: Optional[float] = None, tokens: int = 0):
        """`with engine.slot("zai", model="glm-5.1") as s:` — send with
        s.key, then s.learn(status=..., headers=..., body=...). Nested use for
        the same provider, key and model in the same thread or task reuses
        the outer slot (no deadlock at a limit of 1)."""
        outer = self._nested(provider, key, model)
        if outer is not None:
            yield outer
            return
        s = self.acquire(provider, key, model, priority, timeout, tokens)
        with self._holding(provider, key, model, s):
            yield s

    @contextlib.asynccontextmanager
    async def aslot(self, provider: str, key: Optional[str] = None, model: Optional[str] = None,
                    priority: str = "interactive", timeout: Optional[float] = None,
                    tokens: int = 0):
        """`async with engine.aslot(...)`: slot() for asyncio, same semantics."""
        outer = self._nested(provider, key, model)
        if outer is not None:
            yield outer
            return
        s = await self.aacquire(provider, key, model, priority, timeout, tokens)
        with self._holding(provider, key, model, s):
            yield s

    # --- the transport mode -----------------------------------------------

    def _start(self, method: str, path: str, headers: list, body: bytes, waker) -> int:
        return _lib.sluice_call_start(
            self._live(), method.encode(), path.encode(), json.dumps(headers).encode(),
            body, len(body), waker if waker is not None else _native.NO_NOTIFY, None)


def _next(handle: int, timeout: float) -> tuple[int, bytes]:
    data = ctypes.c_void_p()
    size = ctypes.c_size_t()
    kind = _lib.sluice_call_next(handle, timeout, ctypes.byref(data), ctypes.byref(size))
    return kind, _native.take_bytes(data, size.value)


class Call:
    """One request through the engine's front door, read as events."""

    def __init__(self, engine: Engine, method: str, path: str, headers: list, body: bytes,
                 loop: Optional[asyncio.AbstractEventLoop] = None):
        self._event = asyncio.Event() if loop else None
        self._waker = _loop_waker(loop, self._event) if loop else None
        self._handle = engine._start(method, path, headers, body, self._waker)
        self._lock = threading.Lock()

    def next(self, timeout: Optional[float]) -> tuple[int, bytes]:
        """Blocks (the GIL released) up to `timeout` seconds (None: no end)."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            handle = self._handle
            if not handle:
                return _native.CALL_ABORTED, b"closed"
            left = _SLICE if end is None else min(_SLICE, max(0.0, end - time.monotonic()))
            kind, data = _next(handle, left)
            if kind != _native.CALL_NONE or (end is not None and time.monotonic() >= end):
                return kind, data

    async def anext(self, timeout: Optional[float]) -> tuple[int, bytes]:
        async def wait() -> tuple[int, bytes]:
            while True:
                handle = self._handle
                if not handle:
                    return _native.CALL_ABORTED, b"closed"
                kind, data = _next(handle, 0)
                if kind != _native.CALL_NONE:
                    return kind, data
                self._event.clear()
                kind, data = _next(handle, 0)  # an event between the two looks
                if kind != _native.CALL_NONE:
                    return kind, data
                await self._event.wait()

        if timeout is None:
            return await wait()
        # Not asyncio.wait_for: on 3.11 it swallows a cancellation that
        # arrives as the awaited result does, and a cancelled reader would
        # read on.
        try:
            async with asyncio.timeout(timeout):
                return await wait()
        except TimeoutError:
            return _native.CALL_NONE, b""

    def close(self) -> None:
        with self._lock:
            handle, self._handle = self._handle, None
        if handle:
            _lib.sluice_call_close(handle)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
