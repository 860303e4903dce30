"""A real 3-master Redis Cluster on free loopback ports (--cluster-enabled nodes + redis-cli --cluster)."""

from __future__ import annotations

import subprocess
import time

from tests.support.ports import free_port
from tests.support.redis_server import RedisServer


class RedisClusterNodes:
    """``with RedisClusterNodes(3) as c: c.url`` — masters only, no replicas, no persistence.

    ``node_args`` go to every node (an ACL user, say); ``cli_args`` to every redis-cli call (``--user``...);
    ``tls`` (``{"cert", "key", "ca"}`` files) makes every node TLS-only, the cluster bus included.
    """

    def __init__(
        self,
        masters: int = 3,
        node_args: list[str] | None = None,
        cli_args: list[str] | None = None,
        tls: dict[str, str] | None = None,
    ) -> None:
        self.scheme = "rediss" if tls else "redis"
        self.cli_args = [*(["--tls", "--cacert", tls["ca"]] if tls else []), *(cli_args or [])]
        self.nodes: list[RedisServer] = []
        for _ in range(masters):
            port = free_port()
            tls_args: list[str] = []
            if tls:
                # The node's one port is its TLS port (so RedisServer waits on it); the bus speaks TLS too.
                tls_args = ["--port", "0", "--tls-port", str(port), "--tls-cluster", "yes"]
                tls_args += ["--tls-cert-file", tls["cert"], "--tls-key-file", tls["key"]]
                tls_args += ["--tls-ca-cert-file", tls["ca"], "--tls-auth-clients", "no"]
            args = [
                *tls_args,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                f"nodes-{port}.conf",
                # The bus port is named explicitly: port + 10000 may be taken or past 65535.
                "--cluster-port",
                str(free_port()),
                "--cluster-node-timeout",
                "2000",
                *(node_args or []),
            ]
            self.nodes.append(RedisServer(port=port, extra_args=args))

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.nodes[0].port}/0"

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    def cli(self, port: int, *args: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-p", str(port), *self.cli_args, "--raw", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout

    def start(self) -> RedisClusterNodes:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{p}" for p in self.ports]
        subprocess.run(
            ["redis-cli", *self.cli_args, "--cluster", "create", *addresses, "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        self._wait_until_ok()
        return self

    def _wait_until_ok(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            infos = [self.cli(p, "CLUSTER", "INFO") for p in self.ports]
            if all("cluster_state:ok" in info for info in infos):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster is not ok after {timeout}s: {infos[0]!r}")
            time.sleep(0.05)

    def keys_per_node(self, pattern: str = "*") -> list[list[str]]:
        """The keys each master holds (a cluster node lists only its own slots' keys)."""
        return [self.cli(p, "--scan", "--pattern", pattern).split() for p in self.ports]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> RedisClusterNodes:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for node in self.nodes:
            node.__exit__(None, None, None)
