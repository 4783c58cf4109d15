"""sluice.Engine and the httpx transports, installed, against `sluice sim`
providers and real `sluice serve` gateways (tests/lib/run.sh)."""

import asyncio
import gc
import json
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

import sluice
from conftest import KEY


def one_slot_config(sim, state="state: {backend: memory}\n", limit=1):
    return (
        f"{state}"
        "providers:\n"
        f"  zai: {{api: openai, dialect: zai, base_url: \"{sim['zai']}/api/paas/v4\", "
        f"keys: [env:SLUICE_TEST_KEY], max_concurrent: {limit}}}\n"
        f"  openai: {{api: openai, base_url: \"{sim['openai']}/v1\", "
        "keys: [env:SLUICE_TEST_KEY, env:SLUICE_TEST_KEY2]}\n"
        "  dead: {api: openai, base_url: \"http://127.0.0.1:9/v1\", keys: [env:SLUICE_TEST_KEY]}\n"
        f"  slow: {{api: openai, dialect: zai, base_url: \"{sim['slow']}/api/paas/v4\", "
        "keys: [env:SLUICE_TEST_KEY], max_concurrent: 1}\n"
        "models:\n"
        "  main: {route: [zai/glm-4.6]}\n"
        "  slow: {route: [slow/glm-4.6]}\n"
        "  fallback: {route: [dead/gpt-4o, openai/gpt-4o-mini]}\n"
    )


def limiter(engine, provider="zai", model="glm-4.6"):
    for p in engine.status()["providers"]:
        if p["name"] == provider:
            return p["keys"][0]["limiters"][model]
    raise AssertionError(provider)


CHAT = {"model": "main", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def engine(sim, write_config):
    e = sluice.Engine(write_config(one_slot_config(sim)))
    yield e
    e.close()


def test_a_bad_config_is_refused_with_the_path_of_the_bad_field(write_config):
    path = write_config("providers:\n  zai: {api: openai, base_urll: \"http://x\"}\n")
    with pytest.raises(sluice.SluiceError) as e:
        sluice.Engine(path)
    assert "providers.zai.base_urll" in str(e.value)


def test_a_slot_hands_out_the_key_and_holds_the_providers_limit(engine):
    with engine.slot("zai", model="glm-4.6") as s:
        assert s.key == KEY
        assert s.key_fingerprint.startswith("key:")
        assert limiter(engine)["in_flight"] == 1
        with pytest.raises(sluice.SlotTimeout) as refused:
            engine.acquire("zai", model="glm-4.6", timeout=0.05)
        assert refused.value.code == "no_slot"
    assert limiter(engine)["in_flight"] == 0
    engine.acquire("zai", model="glm-4.6", timeout=0).release()


def test_state_is_keyed_by_fingerprint_and_the_raw_key_never_shows(engine):
    with engine.slot("zai", model="glm-4.6"):
        text = json.dumps(engine.status())
    assert KEY not in text
    assert "key:" in text  # keys appear by fingerprint only


def test_a_sync_wait_releases_the_gil_and_gets_the_permit_when_it_is_freed(engine):
    held = engine.acquire("zai", model="glm-4.6")
    got = threading.Event()

    def waiter():
        with engine.slot("zai", model="glm-4.6"):
            got.set()

    t = threading.Thread(target=waiter)
    t.start()
    # While the other thread waits inside libsluice, this one runs Python.
    while limiter(engine)["queued"] == 0:
        pass
    assert not got.is_set()
    held.release()
    t.join(timeout=10)
    assert got.is_set()


def test_a_cancelled_async_waiter_leaves_no_permit_and_no_waiter_behind(engine):
    async def main():
        held = await engine.aacquire("zai", model="glm-4.6")
        task = asyncio.ensure_future(engine.aacquire("zai", model="glm-4.6"))
        await asyncio.sleep(0)  # let it begin waiting
        assert limiter(engine)["queued"] == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert limiter(engine)["queued"] == 0
        assert limiter(engine)["in_flight"] == 1
        held.release()
        again = await engine.aacquire("zai", model="glm-4.6", timeout=5)
        assert limiter(engine)["in_flight"] == 1
        again.release()

    asyncio.run(main())
    assert limiter(engine)["in_flight"] == 0


def test_nested_use_at_a_limit_of_one_does_not_deadlock(engine):
    with engine.slot("zai", model="glm-4.6") as outer:
        with engine.slot("zai", model="glm-4.6", timeout=1) as inner:
            assert inner is outer
        assert outer.held  # the inner block did not give the outer's slot back

    async def main():
        async with engine.aslot("zai", model="glm-4.6") as outer:
            async with engine.aslot("zai", model="glm-4.6", timeout=1) as inner:
                assert inner is outer
            # Another task is someone else: it waits (here: gives up).
            with pytest.raises(sluice.SlotTimeout):
                await asyncio.ensure_future(engine.aacquire("zai", model="glm-4.6", timeout=0.05))

    asyncio.run(main())


def test_threads_and_two_event_loops_share_one_limit(sim, write_config):
    engine = sluice.Engine(write_config(one_slot_config(sim, limit=2)))
    lock = threading.Lock()
    now = [0]
    peak = [0]

    def enter():
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])

    def leave():
        with lock:
            now[0] -= 1

    def sync_worker():
        for _ in range(50):
            with engine.slot("zai", model="glm-4.6"):
                enter()
                time.sleep(0.001)  # the work done in the slot, so holders overlap
                leave()

    def loop_worker():
        async def one():
            async with engine.aslot("zai", model="glm-4.6", priority="background"):
                enter()
                await asyncio.sleep(0.001)
                leave()

        async def main():
            await asyncio.gather(*(one() for _ in range(50)))

        asyncio.run(main())

    threads = [threading.Thread(target=sync_worker) for _ in range(4)]
    threads += [threading.Thread(target=loop_worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert 1 <= peak[0] <= 2
    assert limiter(engine)["in_flight"] == 0 and limiter(engine)["queued"] == 0
    engine.close()


RATE_LIMITED = '{"error":{"code":"1303","message":"rate limit"}}'


def test_learning_a_429_benches_the_key_for_its_retry_after(engine):
    v = engine.learn("zai", model="glm-4.6", status=429, headers={"retry-after": "30"},
                     body=RATE_LIMITED)
    assert v["class"] == "RATE_LIMIT", v
    assert v["key_cooling_s"] == pytest.approx(30, abs=1)
    with pytest.raises(sluice.SlotRefused) as refused:
        engine.acquire("zai", model="glm-4.6", timeout=1)
    assert refused.value.code == "keys_cooling"
    assert refused.value.retry_after == pytest.approx(30, abs=1)
    # A pool: the benched key is named, and the other one is handed out.
    with pytest.raises(sluice.SluiceError, match="say which one"):
        engine.learn("openai", model="gpt-4o-mini", status=429, body=RATE_LIMITED)
    engine.learn("openai", key=KEY, model="gpt-4o-mini", status=429,
                 headers={"retry-after": "30"}, body=RATE_LIMITED)
    with engine.slot("openai", model="gpt-4o-mini") as s:
        assert s.key == KEY + "-two"


def test_a_concurrency_error_seen_in_a_slot_lowers_the_shared_limit(sim, write_config):
    engine = sluice.Engine(write_config(one_slot_config(sim, limit=4)))
    with engine.slot("zai", model="glm-4.6"), engine.acquire("zai", model="glm-4.6") as b:
        v = b.learn(status=429, body='{"error":{"code":"1302","message":"High concurrency usage '
                                    'of this API, please reduce concurrency"}}')
        assert v["class"] == "CONCURRENCY_LIMIT"
        assert v["key_cooling_s"] is None
    assert limiter(engine)["limit"] < 4
    engine.close()


def test_httpx_sends_through_the_whole_engine(engine):
    with httpx.Client(transport=sluice.HTTPTransport(engine=engine)) as client:
        r = client.post("http://sluice/v1/chat/completions", json=CHAT)
        assert r.status_code == 200, r.text
        assert r.headers["x-sluice-route"] == "zai/glm-4.6"
        assert r.json()["choices"][0]["message"]["role"] == "assistant"
        # A dead primary: served by the fallback, said so.
        r = client.post("http://sluice/v1/chat/completions", json=dict(CHAT, model="fallback"))
        assert r.status_code == 200, r.text
        assert r.headers["x-sluice-fallback"] == "1/2"
        # An unknown alias: the gateway's own error, in OpenAI's shape.
        r = client.post("http://sluice/v1/chat/completions", json=dict(CHAT, model="nope"))
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "model_not_found"
        with client.stream("POST", "http://sluice/v1/chat/completions",
                           json=dict(CHAT, stream=True)) as r:
            events = [line.strip() for line in r.iter_lines() if line.startswith("data: ")]
        assert r.status_code == 200
        assert events[-1] == "data: [DONE]"
        assert len(events) > 3


def test_a_slot_is_held_until_released_or_collected(engine):
    s = engine.acquire("zai", model="glm-4.6")
    assert limiter(engine)["in_flight"] == 1
    del s  # never released by hand: collected, and given back
    gc.collect()
    assert limiter(engine)["in_flight"] == 0


def test_a_stream_closed_early_gives_its_permit_back_and_blames_no_key(engine):
    with httpx.Client(transport=sluice.HTTPTransport(engine=engine)) as client:
        with client.stream("POST", "http://sluice/v1/chat/completions",
                           json=dict(CHAT, model="slow", stream=True)) as r:
            assert r.status_code == 200
            next(r.iter_raw())  # the provider's stream is open, and holds the key's slot
            assert limiter(engine, "slow")["in_flight"] == 1
        # Closed before its end: the engine sees its client gone at its next write.
        engine.acquire("slow", model="glm-4.6", timeout=10).release()
    slow = next(p for p in engine.status()["providers"] if p["name"] == "slow")
    assert "cooling_s" not in slow["keys"][0]


def test_the_sdks_way_of_streaming_send_with_stream_true(engine):
    # What the OpenAI and Anthropic Python SDKs do with their http_client.
    client = httpx.Client(transport=sluice.HTTPTransport(engine=engine))
    request = client.build_request("POST", "http://sluice/v1/chat/completions",
                                   json=dict(CHAT, stream=True),
                                   headers={"Authorization": "Bearer sk-unused"})
    response = client.send(request, stream=True)
    try:
        body = b"".join(response.iter_bytes())
    finally:
        response.close()
    assert response.headers["content-type"].startswith("text/event-stream")
    assert body.rstrip().endswith(b"data: [DONE]")
    client.close()


def test_a_cancelled_async_stream_gives_its_permit_back(engine):
    async def main():
        async with httpx.AsyncClient(transport=sluice.AsyncHTTPTransport(engine=engine)) as client:
            first = asyncio.Event()

            async def read():
                async with client.stream("POST", "http://sluice/v1/chat/completions",
                                         json=dict(CHAT, model="slow", stream=True)) as s:
                    async for _ in s.aiter_raw():
                        first.set()

            task = asyncio.ensure_future(read())
            await first.wait()
            assert limiter(engine, "slow")["in_flight"] == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            slot = await engine.aacquire("slow", model="glm-4.6", timeout=10)
            slot.release()

    asyncio.run(main())


def test_the_async_transport_streams_without_blocking_the_loop(engine):
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        t = asyncio.ensure_future(ticker())
        async with httpx.AsyncClient(transport=sluice.AsyncHTTPTransport(engine=engine)) as client:
            r = await client.post("http://sluice/v1/chat/completions", json=CHAT)
            assert r.status_code == 200
            async with client.stream("POST", "http://sluice/v1/chat/completions",
                                     json=dict(CHAT, model="slow", stream=True)) as s:
                lines = [line.strip() async for line in s.aiter_lines()
                         if line.startswith("data: ")]
        t.cancel()
        assert lines[-1] == "data: [DONE]"
        assert ticks > 0  # the loop ran other tasks while the slow stream came in

    asyncio.run(main())


def test_an_engine_and_a_gateway_see_each_others_cooldowns_through_sqlite(
        sim, write_config, gateway, tmp_path):
    state = f"state: {{backend: sqlite, path: \"{tmp_path / 'state.db'}\"}}\n"
    path = write_config(one_slot_config(sim, state=state))
    engine = sluice.Engine(path)
    engine.learn("zai", model="glm-4.6", status=429, headers={"retry-after": "600"},
                 body=RATE_LIMITED)
    base = gateway(path)  # a gateway started after: it knows the key is cooling
    status = httpx.get(base + "/status").json()
    zai = next(p for p in status["providers"] if p["name"] == "zai")
    assert zai["keys"][0]["cooling_s"] > 500
    r = httpx.post(base + "/v1/chat/completions", json=CHAT)
    assert r.status_code in (429, 503), r.text
    engine.close()
    # And the other way: an engine opened now sees what the store holds.
    again = sluice.Engine(path)
    with pytest.raises(sluice.SlotRefused) as refused:
        again.acquire("zai", model="glm-4.6", timeout=1)
    assert refused.value.code == "keys_cooling"
    again.close()


# A program that ends with its engine still open: a daemon thread holds it, so
# Python never collects it, and the cooldown is learned on the way out, after
# everything but the package's own exit hook (atexit runs the last registered
# first).
LEFT_OPEN = """
import atexit, sys, threading, sluice
engine = sluice.Engine(sys.argv[1])
threading.Thread(target=lambda e=engine: threading.Event().wait(), daemon=True).start()
atexit.register(lambda: engine.learn(
    "zai", model="glm-4.6", status=429, headers={"retry-after": "600"},
    body='{"error":{"code":"1303","message":"rate limit"}}'))
print("open", flush=True)
sys.stdin.readline()
"""


def test_an_engine_left_open_at_exit_still_makes_its_queued_writes(sim, write_config, tmp_path):
    db_path = tmp_path / "state.db"
    state = f"state: {{backend: sqlite, path: \"{db_path}\"}}\n"
    path = write_config(one_slot_config(sim, state=state))
    child = subprocess.Popen([sys.executable, "-c", LEFT_OPEN, path], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "open\n"
    # SQLite's write lock, held here, keeps the cooldown queued in the child
    # until its engine closes and says it is making it; a child that never
    # closes its engine exits with the write still queued.
    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    child.stdin.write("exit\n")
    child.stdin.flush()
    said = next((line for line in iter(child.stderr.readline, "") if "state_closing" in line), "")
    lock.execute("COMMIT")
    lock.close()
    child.stderr.read()
    assert child.wait(timeout=30) == 0
    assert "queued_writes=1" in said, said
    again = sluice.Engine(path)
    with pytest.raises(sluice.SlotRefused) as refused:
        again.acquire("zai", model="glm-4.6", timeout=1)
    assert refused.value.code == "keys_cooling"
    again.close()


def test_a_gateway_and_an_engine_hold_one_redis_limit_of_one_together(
        sim, write_config, gateway, redis_url):
    state = f"state: {{backend: redis, url: \"{redis_url}\"}}\n"
    path = write_config(one_slot_config(sim, state=state))
    engine = sluice.Engine(path)
    base = gateway(path)
    request = dict(CHAT)
    with engine.slot("zai", model="glm-4.6"):
        # The gateway's only slot on this key is held in this process.
        r = httpx.post(base + "/v1/chat/completions", json=request,
                       headers={"x-sluice-deadline-ms": "300"}, timeout=10)
        assert r.status_code in (429, 503), r.text
    r = httpx.post(base + "/v1/chat/completions", json=request, timeout=10)
    assert r.status_code == 200, r.text
    # A key benched here is benched there as soon as Redis carries the word
    # (pub/sub): watched on the gateway's /status, no fixed wait.
    engine.learn("zai", model="glm-4.6", status=429, headers={"retry-after": "600"},
                 body=RATE_LIMITED)
    give_up = time.monotonic() + 10
    while True:
        status = httpx.get(base + "/status").json()
        zai = next(p for p in status["providers"] if p["name"] == "zai")
        if zai["keys"][0].get("cooling_s", 0) > 500:
            break
        assert time.monotonic() < give_up, zai
    engine.close()
