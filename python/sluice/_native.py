"""Loads libsluice (the C ABI, include/sluice/sluice.h) with ctypes.

Why ctypes over the C ABI and not a compiled extension: one ABI serves C,
Python and any other language; the package is plain Python, so it installs
with `cmake --install` and works with any CPython 3 without a build step
(docs/decisions/0013-python-through-the-c-abi.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import json
import os
from pathlib import Path

_SONAME = "libsluice.so.0"


def _candidates() -> list[str]:
    found: list[str] = []
    env = os.environ.get("SLUICE_LIBRARY")
    if env:
        found.append(env)
    # Installed by `cmake --install`: <prefix>/lib/python3/dist-packages/sluice/
    # beside <prefix>/lib/libsluice.so.0 (or a multiarch lib/<triplet>/).
    libdir = Path(__file__).resolve().parents[3]
    found.append(str(libdir / _SONAME))
    found.extend(sorted(glob.glob(str(libdir / "*" / _SONAME))))
    system = ctypes.util.find_library("sluice")
    if system:
        found.append(system)
    return found


def _load() -> ctypes.CDLL:
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:  # not there, or not loadable: try the next
            tried.append(f"{path}: {e}")
    raise ImportError(
        "sluice: cannot load libsluice (set SLUICE_LIBRARY to its path); tried:\n  "
        + "\n  ".join(tried)
    )


lib = _load()
lib.sluice_version.restype = ctypes.c_char_p
lib.sluice_version.argtypes = []
lib.sluice_abi_version.restype = ctypes.c_int
lib.sluice_abi_version.argtypes = []
# c_void_p, not c_char_p: the memory is ours to free with sluice_free.
lib.sluice_classify.restype = ctypes.c_void_p
lib.sluice_classify.argtypes = [ctypes.c_char_p]
lib.sluice_check_config.restype = ctypes.c_void_p
lib.sluice_check_config.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
lib.sluice_free.restype = None
lib.sluice_free.argtypes = [ctypes.c_void_p]

ABI_VERSION = 1
if lib.sluice_abi_version() != ABI_VERSION:
    raise ImportError(
        f"sluice: libsluice speaks ABI {lib.sluice_abi_version()}, this package {ABI_VERSION}"
    )


def call_json(fn, *args: bytes) -> dict:
    """Calls a libsluice function that returns JSON text and frees it."""
    ptr = fn(*args)
    if not ptr:
        raise MemoryError("sluice: out of memory")
    try:
        return json.loads(ctypes.string_at(ptr).decode("utf-8"))
    finally:
        lib.sluice_free(ptr)


# The in-process engine (sluice.h, "The in-process engine").
NOTIFY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_P = ctypes.c_void_p
lib.sluice_engine_open.restype = _P
lib.sluice_engine_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.sluice_engine_close.restype = None
lib.sluice_engine_close.argtypes = [_P]
lib.sluice_engine_status.restype = _P
lib.sluice_engine_status.argtypes = [_P]
lib.sluice_engine_learn.restype = _P
lib.sluice_engine_learn.argtypes = [_P, ctypes.c_char_p]
lib.sluice_slot_begin.restype = _P
lib.sluice_slot_begin.argtypes = [_P, ctypes.c_char_p, NOTIFY, _P]
lib.sluice_slot_wait.restype = ctypes.c_int
lib.sluice_slot_wait.argtypes = [_P, ctypes.c_double]
lib.sluice_slot_result.restype = _P
lib.sluice_slot_result.argtypes = [_P]
lib.sluice_slot_learn.restype = _P
lib.sluice_slot_learn.argtypes = [_P, ctypes.c_char_p]
lib.sluice_slot_release.restype = None
lib.sluice_slot_release.argtypes = [_P]
lib.sluice_call_start.restype = _P
lib.sluice_call_start.argtypes = [
    _P, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
    ctypes.c_char_p, ctypes.c_size_t, NOTIFY, _P,
]
lib.sluice_call_next.restype = ctypes.c_int
lib.sluice_call_next.argtypes = [
    _P, ctypes.c_double, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t),
]
lib.sluice_call_close.restype = None
lib.sluice_call_close.argtypes = [_P]

CALL_NONE, CALL_HEAD, CALL_BODY, CALL_END, CALL_ABORTED = 0, 1, 2, 3, 4
NO_NOTIFY = ctypes.cast(None, NOTIFY)


def take_bytes(ptr: ctypes.c_void_p, size: int) -> bytes:
    """Copies `size` bytes the library allocated, then frees them."""
    if not ptr.value:
        return b""
    try:
        return ctypes.string_at(ptr.value, size)
    finally:
        lib.sluice_free(ptr.value)
