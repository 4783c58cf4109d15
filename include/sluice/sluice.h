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
 *    thread at any time; none keeps state between calls.
 */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

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

/* Frees what a function above returned. NULL is fine. */
SLUICE_API void sluice_free(void* p);

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_SLUICE_H */
