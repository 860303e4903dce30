"""A real primary + replica + 3 sentinels on free loopback ports, with short failover timeouts."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port, wait_for_port
from tests.support.redis_server import RedisServer

MASTER_NAME = "mymaster"
#: Short on purpose: a test kills the primary and waits for the promotion.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


@dataclass(frozen=True)
class Secure:
    """TLS everywhere (the ``tls_files`` fixture's CA and certificate), an ACL user on the data nodes (the
    default user off), and the sentinels' own password."""

    tls: dict[str, str]
    user: str = "bff"
    password: str = "bff-pw-1"
    sentinel_password: str = "sentinel-pw-1"

    def tls_conf(self) -> list[tuple[str, str]]:
        return [
            ("tls-cert-file", self.tls["cert"]),
            ("tls-key-file", self.tls["key"]),
            ("tls-ca-cert-file", self.tls["ca"]),
            ("tls-auth-clients", "no"),
            ("tls-replication", "yes"),
        ]

    def tls_cli(self) -> list[str]:
        return ["--tls", "--cacert", self.tls["ca"]]

    def server(self, extra: list[str] | None = None) -> RedisServer:
        port = free_port()
        args = ["--port", "0", "--tls-port", str(port)]
        args += [arg for key, value in self.tls_conf() for arg in (f"--{key}", value)]
        args += [
            "--user",
            self.user,
            "on",
            f">{self.password}",
            "~*",
            "&*",
            "+@all",
            "--user",
            "default",
            "off",
        ]
        cli = [*self.tls_cli(), "--user", self.user, "--pass", self.password, "--no-auth-warning"]
        return RedisServer(port=port, extra_args=[*args, *(extra or [])], cli_args=cli)


class Sentinel:
    """One ``redis-server --sentinel`` process; it rewrites its own config file, so it gets a folder."""

    def __init__(self, master_port: int, quorum: int, secure: Secure | None = None) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bff-sentinel-"))
        self.conf = self.dir / "sentinel.conf"
        listen = f"port {self.port}\n"
        extra = ""
        self.cli_args: list[str] = []
        if secure is not None:
            # TLS only, to clients, to the data nodes and to the other sentinels; its own password.
            listen = f"port 0\ntls-port {self.port}\n" + "".join(f"{k} {v}\n" for k, v in secure.tls_conf())
            listen += f"requirepass {secure.sentinel_password}\n"
            extra = (
                f"sentinel auth-user {MASTER_NAME} {secure.user}\n"
                f"sentinel auth-pass {MASTER_NAME} {secure.password}\n"
                f"sentinel sentinel-pass {secure.sentinel_password}\n"
            )
            self.cli_args = [*secure.tls_cli(), "-a", secure.sentinel_password, "--no-auth-warning"]
        self.conf.write_text(
            f"{listen}bind 127.0.0.1\nprotected-mode no\ndir {self.dir}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} {quorum}\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n{extra}"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Sentinel:
        self.proc = subprocess.Popen(
            ["redis-server", str(self.conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), *self.cli_args, "--raw", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout

    def master_info(self) -> dict[str, str]:
        lines = self.cli("SENTINEL", "MASTER", MASTER_NAME).splitlines()
        return dict(zip(lines[::2], lines[1::2], strict=False))

    def master_port(self) -> int:
        lines = self.cli("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME).split()
        return int(lines[1])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


class SentinelGroup:
    """``with SentinelGroup() as g: g.sentinel_addresses``: primary, replica, three sentinels (quorum 2)."""

    def __init__(self, secure: Secure | None = None) -> None:
        if secure is None:
            self.primary = RedisServer()
            replica_args = ["--replicaof", "127.0.0.1", str(self.primary.port)]
            self.replica = RedisServer(extra_args=replica_args)
        else:
            self.primary = secure.server()
            self.replica = secure.server(
                ["--replicaof", "127.0.0.1", str(self.primary.port)]
                + ["--masteruser", secure.user, "--masterauth", secure.password]
            )
        self.sentinels = [Sentinel(self.primary.port, quorum=2, secure=secure) for _ in range(3)]

    @property
    def sentinel_addresses(self) -> str:
        """``BFF_REDIS_SENTINELS``: ``127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3``."""
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def start(self) -> SentinelGroup:
        self.primary.start()
        self.replica.start()
        for sentinel in self.sentinels:
            sentinel.start()
        self._wait_until_settled()
        return self

    def _wait_until_settled(self, timeout: float = 20.0) -> None:
        """Until the replica is in sync and every sentinel knows the replica and the two other sentinels."""
        deadline = time.monotonic() + timeout
        while True:
            synced = "master_link_status:up" in self.replica.cli("INFO", "replication")
            infos = [s.master_info() for s in self.sentinels]
            if synced and all(
                i.get("num-slaves") == "1" and i.get("num-other-sentinels") == "2" for i in infos
            ):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"sentinels not settled after {timeout}s: {infos}")
            time.sleep(0.05)

    def wait_for_promotion(self, timeout: float = 20.0) -> float:
        """Seconds until every sentinel names the replica as master."""
        started = time.monotonic()
        while True:
            if all(s.master_port() == self.replica.port for s in self.sentinels):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"no promotion after {timeout}s")
            time.sleep(0.05)

    def kill_primary(self) -> None:
        """SIGKILL the primary: a crash, not a shutdown (no last writes flushed, no goodbye to replicas)."""
        if self.primary.proc is not None:
            self.primary.proc.kill()
            self.primary.proc.wait()
            self.primary.proc = None

    def close(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in (self.replica, self.primary):
            server.__exit__(None, None, None)

    def __enter__(self) -> SentinelGroup:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()
