"""A private NATS cluster on loopback (JetStream and the MQTT gateway on every node), for the
tests and the scale benchmark: scripts/nats-cluster/node.conf with free ports of its own.

Each node can be killed (as a crash would) and started again on the same ports and files.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nats.errors

from edge.demo.local_broker import find_program, free_ports, listens, stop_process
from sync.jetstream.consumer_group import ensure_stream, until_store
from sync.jetstream.link import NatsUnavailable, connect

NODE_CONF = Path(__file__).resolve().parents[2] / "scripts" / "nats-cluster" / "node.conf"
_CANDIDATES = ("nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server")


class NatsUnavailableHere(RuntimeError):
    """No nats-server binary on this machine."""


def find_nats_server() -> str:
    """Path of the nats-server binary, or NatsUnavailableHere saying how to get one."""
    return find_program(
        _CANDIDATES,
        NatsUnavailableHere(
            "nats-server is not installed: run `make setup` (it installs it), or "
            "`apt-get install nats-server`"
        ),
    )


@dataclass(frozen=True, slots=True)
class NatsNode:
    name: str
    port: int
    mqtt_port: int
    cluster_port: int
    store: Path

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"


class NatsCluster:
    """`size` nodes named n1, n2, ...; `start()` returns once every node serves clients and
    MQTT."""

    def __init__(self, workdir: Path, size: int = 3):
        self.workdir = workdir
        ports = iter(free_ports(3 * size))  # client, MQTT and cluster port of each node
        self.nodes = [
            NatsNode(f"n{i}", next(ports), next(ports), next(ports), workdir / f"n{i}")
            for i in range(1, size + 1)
        ]
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def mqtt_urls(self) -> list[str]:
        return [node.mqtt_url for node in self.nodes]

    async def start(self, timeout: float = 20.0) -> None:
        """Start every node; when one does not come up, stop those that did."""
        try:
            for node in self.nodes:
                self._spawn(node)
            for node in self.nodes:
                await self._until_serving(node, timeout)
        except BaseException:
            await self.stop()
            raise

    async def prepare(self, timeout: float = 30.0) -> None:
        """Wait until JetStream answers (the nodes have elected a leader), have the MQTT
        gateway of every node make its stores and consumers with a first MQTT connection (made
        later, after a node is lost, it waits on the cluster's elections), and create the
        centre's stream and register as the first `procurement watch --nats` would."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                for node in self.nodes:
                    await mqtt_hello(node.mqtt_port)
                nc = await connect(self.urls, "rxedge-cluster-setup", timeout=5)
                try:
                    js = nc.jetstream()
                    await until_store(js, timeout=5)
                    await ensure_stream(js, len(self.nodes))
                    return
                finally:
                    await nc.close()
            except (NatsUnavailable, nats.errors.Error, TimeoutError, OSError):
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def start_node(self, index: int, timeout: float = 20.0) -> None:
        """Start node `index` (0-based) again, on its ports and files."""
        node = self.nodes[index]
        self._spawn(node)
        await self._until_serving(node, timeout)

    def kill(self, index: int) -> None:
        """Kill node `index` (0-based) at once, as a crash or power cut would."""
        process = self._processes.pop(self.nodes[index].name, None)
        if process is not None:
            process.kill()
            process.wait()

    async def stop(self) -> None:
        for name, process in list(self._processes.items()):
            await stop_process(process)
            del self._processes[name]

    def _spawn(self, node: NatsNode) -> None:
        node.store.mkdir(parents=True, exist_ok=True)
        routes = ", ".join(f"nats://127.0.0.1:{n.cluster_port}" for n in self.nodes)
        env = {
            **os.environ,
            "RXEDGE_NATS_NAME": node.name,
            "RXEDGE_NATS_PORT": str(node.port),
            "RXEDGE_NATS_MQTT_PORT": str(node.mqtt_port),
            "RXEDGE_NATS_CLUSTER_PORT": str(node.cluster_port),
            "RXEDGE_NATS_ROUTES": f"[{routes}]",
            "RXEDGE_NATS_STORE": str(node.store),
        }
        log = (self.workdir / f"{node.name}.log").open("ab")
        self._processes[node.name] = subprocess.Popen(
            [find_nats_server(), "-c", str(NODE_CONF)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    async def _until_serving(self, node: NatsNode, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        process = self._processes[node.name]
        while loop.time() < deadline:
            if process.poll() is not None:
                text = (self.workdir / f"{node.name}.log").read_text(errors="replace")
                raise RuntimeError(f"nats-server {node.name} exited at start: {text[-2000:]}")
            if await listens(node.port) and await listens(node.mqtt_port):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"nats-server {node.name} did not listen within {timeout} s")


async def mqtt_hello(port: int, timeout: float = 5.0) -> None:
    """One MQTT 3.1.1 CONNECT answered by a CONNACK: NATS's MQTT gateway makes its stores then."""
    client_id = b"rxedge-cluster-setup"
    body = b"\x00\x04MQTT\x04\x02\x00\x1e" + len(client_id).to_bytes(2, "big") + client_id
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(bytes([0x10, len(body)]) + body)
        try:
            connack = await asyncio.wait_for(reader.readexactly(4), timeout)
        except asyncio.IncompleteReadError:
            raise OSError(f"the MQTT gateway on port {port} closed the connection") from None
        if connack[0] != 0x20 or connack[3] != 0:
            raise OSError(f"the MQTT gateway on port {port} refused a connection: {connack!r}")
        writer.write(b"\xe0\x00")  # DISCONNECT
        await writer.drain()
    finally:
        writer.close()
