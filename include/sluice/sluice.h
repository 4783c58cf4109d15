/* libsluice's C ABI: sluice's policy core for any language that can call C
 * (Python's ctypes, Go's cgo, Rust's FFI, ...).
 *
 * Conventions (stable for a given SLUICE_ABI_VERSION):
 *  - Strings in and out are UTF-8 and NUL-terminated. Structures travel as
 *    JSON text, so no C struct layout is part of the ABI.
 *  - A function returning `char*` returns memory the caller frees with
 *    sluice_free(); it never returns NULL except when memory is exhausted.
 *    A bad input is not a crash: the JSON says {"error": "..."} and names the
 *    bad field.
 *  - Nothing throws across this boundary and nothing here calls exit().
 *  - Thread safety: every function in this header may be called from any
 *    thread at any time. The classify/check functions keep no state; an
 *    engine's state is its own, guarded inside the library.
 */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SLUICE_API __attribute__((visibility("default")))
#else
#define SLUICE_API
#endif

/* Bumped when a function's meaning changes or one is removed; additions keep it. */
#define SLUICE_ABI_VERSION 1

/* sluice's version, e.g. "0.1.0" (static storage: do not free). */
SLUICE_API const char* sluice_version(void);
/* The SLUICE_ABI_VERSION the library was built with. */
SLUICE_API int sluice_abi_version(void);

/* Classifies one upstream outcome, exactly as `sluice classify` does for one
 * input line. `outcome_json`: an object with any of "provider" (a name such
 * as "zai", "anthropic", or a base URL), "status", "headers" (object, or an
 * array of [name, value] pairs), "body", "error"/"message" (a client's own
 * wording of a failure), "transport" ("connect", "timeout", "reset", "eof",
 * "tls", or a library's error text), "now" (RFC 3339 or epoch ms).
 * Returns the verdict: {"class", "retryable", "rotate_key", "cool_key",
 * "cooldown_s", "disable_key", "lower_limit", "fallback", "client_status",
 * "wait_s", "rule", "ratelimit": {...}} or {"class": null, "ok": true}. */
SLUICE_API char* sluice_classify(const char* outcome_json);

/* Checks a gateway config (the YAML `sluice serve` reads). `file_name` only
 * labels diagnostics (may be NULL). Keys given as env:VAR are resolved from
 * the process environment. Returns {"ok": bool, "errors": [{"path", "line",
 * "column", "message"}], "warnings": [...], "description": "..."}; the
 * description is what `sluice check-config` prints and never holds a secret. */
SLUICE_API char* sluice_check_config(const char* yaml_text, const char* file_name);

/* ---- The in-process engine ------------------------------------------------
 * The gateway's engine inside the calling process: the same config, limits,
 * cooldowns, budgets, fallback and translation as `sluice serve`, and, with
 * the SQLite or Redis backend, the same state as running gateways. The
 * library runs it on one thread of its own; no function below blocks that
 * thread, and every one may be called from any thread. A callback
 * (sluice_notify) is called on the library's thread, must return quickly
 * and must not call back into the library except sluice_*_result/next.
 */
typedef struct sluice_engine sluice_engine;
typedef struct sluice_slot sluice_slot;
typedef struct sluice_call sluice_call;
typedef void (*sluice_notify)(void* user);

/* Opens an engine from a config file (the YAML `sluice serve` reads). NULL
 * on failure, with *error (if error is not NULL) set to why (every bad field
 * with its path and line); free it with sluice_free. */
SLUICE_API sluice_engine* sluice_engine_open(const char* config_path, char** error);
/* Lets go of the engine. Slots and calls still open keep it running until
 * they are released or closed. */
SLUICE_API void sluice_engine_close(sluice_engine* engine);
/* What GET /status shows: providers, keys by fingerprint, limits, queues,
 * budgets, cooldowns, counters. Never a secret. */
SLUICE_API char* sluice_engine_status(sluice_engine* engine);
/* Learns from a response the caller got by itself: {"provider", "model",
 * "key" (the secret, fingerprinted and dropped) or "key_fingerprint" (either
 * may be left out when the provider has one key), "status", "headers",
 * "body", "transport"} as for sluice_classify. Returns the verdict with
 * "key_fingerprint", "key_cooling_s", "key_disabled" and "limit", or
 * {"error"}. */
SLUICE_API char* sluice_engine_learn(sluice_engine* engine, const char* learning_json);

/* The policy mode: a slot for one request the caller sends itself. Begins
 * waiting at once and never blocks: `request_json` is {"provider", "model",
 * "key" or "key_fingerprint" (optional: else the provider's pool picks),
 * "priority" ("interactive" or "background"), "timeout_s" (null: no
 * deadline), "tokens" (estimated, toward a token budget)}. `notify` (may be
 * NULL) is called once the slot is granted or refused, never after
 * sluice_slot_release returned. */
SLUICE_API sluice_slot* sluice_slot_begin(sluice_engine* engine, const char* request_json,
                                          sluice_notify notify, void* user);
/* Waits up to timeout_s (negative: without end) for the decision: 1 when
 * decided, 0 when not yet. */
SLUICE_API int sluice_slot_wait(sluice_slot* slot, double timeout_s);
/* {"state": "waiting"}, {"state": "granted", "provider", "model",
 * "key_fingerprint", "key" (the secret to send with)} or {"state":
 * "refused", "code", "message", "retry_after_s"}. */
SLUICE_API char* sluice_slot_result(sluice_slot* slot);
/* Learns from the response sent in this slot (the outcome as for
 * sluice_classify); see sluice_engine_learn for the answer. */
SLUICE_API char* sluice_slot_learn(sluice_slot* slot, const char* outcome_json);
/* Gives the slot back (or stops waiting for it: nothing is left queued) and
 * frees the handle. Always call it, once. */
SLUICE_API void sluice_slot_release(sluice_slot* slot);

/* The transport mode: one HTTP request through the engine's front door
 * (aliases, pools, throttling, fallback, retries, translation, streaming),
 * answered as events. `headers_json` is [[name, value], ...] or NULL.
 * `notify` (may be NULL) is called whenever an event is ready. */
SLUICE_API sluice_call* sluice_call_start(sluice_engine* engine, const char* method,
                                          const char* path, const char* headers_json,
                                          const char* body, size_t body_len, sluice_notify notify,
                                          void* user);
#define SLUICE_CALL_NONE 0    /* nothing within the timeout */
#define SLUICE_CALL_HEAD 1    /* data: {"status", "headers": [[n, v]...], "stream"} */
#define SLUICE_CALL_BODY 2    /* data/len: the next bytes of the body */
#define SLUICE_CALL_END 3     /* the answer is complete */
#define SLUICE_CALL_ABORTED 4 /* the answer was cut short (data: why) */
/* The next event, waiting up to timeout_s (negative: without end; 0: poll).
 * *data (freed with sluice_free) and *len are set for HEAD, BODY, ABORTED.
 * After END or ABORTED every call returns the same. */
SLUICE_API int sluice_call_next(sluice_call* call, double timeout_s, char** data, size_t* len);
/* Frees the call. An answer still coming is abandoned: the engine sees its
 * client gone (never blamed on the provider) and gives back its slot. */
SLUICE_API void sluice_call_close(sluice_call* call);

/* Frees what a function above returned. NULL is fine. */
SLUICE_API void sluice_free(void* p);

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_SLUICE_H */
