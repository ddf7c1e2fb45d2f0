"""A TCP relay and load balancer for the several-node proof, its own process:

    python tests/proof/relay.py '<json config>'

config: {"control": "127.0.0.1:PORT", "listeners": [{"name": "web", "listen": "IP:PORT",
"upstreams": ["IP:PORT", ...]}, ...]}. Each listener forwards every connection to its first
upstream that accepts (round robin, so a load balancer in front of the web nodes; a dead node is
skipped), bytes both ways untouched. PostgreSQL and Redis listen on loopback only, so the nodes
in their network namespaces reach them through this relay on the host's side of their links.

`GET /` on the control address answers JSON counts per listener, by upstream and by client
address: connections open, and "awaiting" (the client sent bytes the upstream has not answered
yet: a request in flight), so the proof can confirm a node it kills was mid-request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import defaultdict


def _split(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


class Listener:
    def __init__(self, name: str, upstreams: list[str]) -> None:
        self.name = name
        self.upstreams = upstreams
        self.turn = itertools.cycle(range(len(upstreams)))
        self.live: set[Connection] = set()
        self.total: dict[str, int] = defaultdict(int)
        self.refused = 0

    def stats(self) -> dict:
        now = time.monotonic()

        def group(key) -> dict:
            out: dict = {}
            for c in self.live:
                g = out.setdefault(key(c), {"open": 0, "awaiting": 0, "oldest_awaiting_s": 0.0})
                g["open"] += 1
                if c.awaiting_since is not None:
                    g["awaiting"] += 1
                    g["oldest_awaiting_s"] = max(g["oldest_awaiting_s"], now - c.awaiting_since)
            return out

        return {"by_upstream": group(lambda c: c.upstream),
                "by_client": group(lambda c: c.client),
                "total": dict(self.total), "refused": self.refused}  # fmt: skip

    async def _connect(self):
        start = next(self.turn)
        for i in range(len(self.upstreams)):
            upstream = self.upstreams[(start + i) % len(self.upstreams)]
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(*_split(upstream)), timeout=1.0
                )
                return upstream, reader, writer
            except (TimeoutError, OSError):
                continue
        return None, None, None

    async def handle(self, client_reader, client_writer) -> None:
        client = client_writer.get_extra_info("peername")[0]
        upstream, reader, writer = await self._connect()
        if upstream is None:
            self.refused += 1
            client_writer.close()
            return
        connection = Connection(client, upstream)
        self.live.add(connection)
        self.total[upstream] += 1

        async def pump(src, dst, *, request: bool) -> None:
            try:
                while data := await src.read(65536):
                    if request and connection.awaiting_since is None:
                        connection.awaiting_since = time.monotonic()
                    elif not request:
                        connection.awaiting_since = None
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.close()

        try:
            await asyncio.gather(
                pump(client_reader, writer, request=True),
                pump(reader, client_writer, request=False),
            )
        finally:
            self.live.discard(connection)


class Connection:
    """One relayed connection; `awaiting_since`: the client's bytes are not answered yet."""

    def __init__(self, client: str, upstream: str) -> None:
        self.client = client
        self.upstream = upstream
        self.awaiting_since: float | None = None


async def main(config: dict) -> None:
    listeners = {}
    servers = []
    for spec in config["listeners"]:
        listener = Listener(spec["name"], spec["upstreams"])
        listeners[spec["name"]] = listener
        host, port = _split(spec["listen"])
        servers.append(await asyncio.start_server(listener.handle, host, port))

    async def control(reader, writer) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = json.dumps({name: x.stats() for name, x in listeners.items()}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        writer.write(head.encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    host, port = _split(config["control"])
    servers.append(await asyncio.start_server(control, host, port))
    print("relay ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
