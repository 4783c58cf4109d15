"""The Python package, as installed by `cmake --install` (tests/lib/run.sh)."""

import json
import threading

import pytest

import sluice


def test_the_package_is_the_installed_one_and_says_its_version():
    assert sluice.version().count(".") == 2
    assert "/dist-packages/sluice/" in sluice.__file__


def test_a_zai_concurrency_refusal_lowers_the_limit_instead_of_benching_the_key():
    v = sluice.classify(
        status=429,
        provider="zai",
        body='{"error":{"code":"1302","message":"High concurrency usage of this API"}}',
    )
    assert v["class"] == "CONCURRENCY_LIMIT"
    assert v["lower_limit"] is True
    assert v["disable_key"] is False
    assert v["rule"] == "zai-concurrency"


def test_a_rate_limit_waits_for_the_providers_retry_after():
    v = sluice.classify(
        status=429,
        provider="openai",
        headers={"retry-after": "20", "x-ratelimit-remaining-requests": "0",
                 "x-ratelimit-limit-requests": "60", "x-ratelimit-reset-requests": "20s"},
        body={"error": {"message": "Rate limit reached for requests", "type": "requests"}},
    )
    assert v["class"] == "RATE_LIMIT"
    assert v["wait_s"] == 20
    assert v["ratelimit"]["requests"]["remaining"] == 0


def test_headers_as_pairs_and_bytes_bodies_are_read_like_the_rest():
    v = sluice.classify(status=529, provider="anthropic",
                        headers=[("content-type", "application/json")],
                        body=b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
    assert v["class"] == "OVERLOADED"
    assert v["fallback"] is True


def test_a_transport_failure_in_a_librarys_own_words():
    v = sluice.classify(transport="Connection reset by peer")
    assert v["class"] in ("TIMEOUT", "SERVER_ERROR", "STREAM_DROP")
    assert v["retryable"] is True


def test_success_is_not_a_failure_class():
    assert sluice.classify(status=200, provider="openai", body="{}")["class"] is None


def test_a_bad_argument_is_a_clear_error_naming_the_field():
    with pytest.raises(sluice.SluiceError, match="status"):
        sluice.classify(status=42)
    with pytest.raises(sluice.SluiceError, match="transport"):
        sluice.classify(transport="carrier pigeon lost")


def test_an_unknown_provider_is_classified_with_the_generic_rules_and_says_so():
    v = sluice.classify(status=503, provider="my-vllm")
    assert v["dialect"] == "generic"
    assert "my-vllm" in v["note"]


def test_usable_from_many_threads_at_once():
    results, errors = [], []

    def work():
        try:
            for _ in range(200):
                results.append(sluice.classify(status=429, provider="openai")["class"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == ["RATE_LIMIT"] * 1600


def test_a_config_typo_is_reported_with_its_path_and_secrets_stay_out(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAI_KEY", "sk-very-secret-value")
    good = tmp_path / "sluice.yaml"
    good.write_text(
        "providers:\n  zai:\n    api: openai\n    base_url: https://api.z.ai/api/paas/v4\n"
        "    keys: [env:ZAI_KEY]\nmodels:\n  main: {route: [zai/glm-4.6]}\n"
    )
    ok = sluice.check_config(str(good))
    assert ok["ok"] is True, ok
    assert "zai" in ok["description"]
    assert "sk-very-secret-value" not in json.dumps(ok)

    bad = sluice.check_config(good.read_text().replace("route", "rout"), text=True)
    assert bad["ok"] is False
    assert any(e["path"].startswith("models.main") for e in bad["errors"]), bad["errors"]
    assert all(e["line"] > 0 for e in bad["errors"])
