#!/usr/bin/env python3
"""A TCP proxy that holds every byte for DELAY ms in each direction, as a
network between two hosts would: for Redis mode's benchmark with Redis
"1 ms away" on one machine. Order within a connection is kept.

    bench/delay_proxy.py LISTEN_PORT TARGET_HOST:PORT DELAY_MS

Prints "delay_proxy: listening on 127.0.0.1:PORT" once ready. A benchmark
tool, not a test; Debian's python3, standard library only.
"""

import asyncio
import sys


async def pump(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + delay, data or None))
            if not data:
                break
        await sender
    except (ConnectionError, asyncio.CancelledError):
        sender.cancel()
        writer.close()


async def main(port, target, delay_ms):
    host, target_port = target.rsplit(":", 1)
    delay = delay_ms / 1000.0

    async def handle(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(target_port))
        except OSError:
            client_writer.close()
            return
        for sock in (client_writer, up_writer):
            s = sock.get_extra_info("socket")
            if s is not None:
                import socket
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(pump(client_reader, up_writer, delay),
                             pump(up_reader, client_writer, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(f"delay_proxy: listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], float(sys.argv[3])))
