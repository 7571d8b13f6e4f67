"""Shared fixtures. Service tests hit the real database (SQLite locally, PostgreSQL in CI)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Emulator fixtures usable from every test folder (exchange_emulator, exchange_account, …).
pytest_plugins = ["emulators.exchange.testing"]


@pytest.fixture(autouse=True)
def _notifications_delivered_inline(settings) -> None:
    """Notifications go out in the test process right after commit (like eager Celery), so a test sees the
    e-mail in mail.outbox without a worker. Tests of the Celery path set NOTIFICATIONS_DISPATCH = "celery"."""
    settings.NOTIFICATIONS_DISPATCH = "inline"


@pytest.fixture(autouse=True)
def _hot_path_database_calls_share_the_test_transaction(request, monkeypatch) -> None:  # noqa: ANN001
    """A test inside a test transaction (the `db` fixture) sees its rows only on its own connection, so a
    hot path's `DatabaseThread` (the Ttadak press) runs its calls there, through asgiref's thread-sensitive
    `sync_to_async` like the rest of the engine. Tests with real transactions (`transactional_db`,
    `django_db(transaction=True)`) keep the real thread."""
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker is not None and marker.kwargs.get("transaction")):
        return
    from asgiref.sync import sync_to_async

    from core.dbthread import DatabaseThread

    async def call(self, function, /, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        return await sync_to_async(function)(*args, **kwargs)

    monkeypatch.setattr(DatabaseThread, "call", call)


@pytest.fixture(scope="session")
def broker_url() -> str:
    """The broker the suite uses: REDIS_URL (CI: the machine's Redis) or the embedded one."""
    from django.conf import settings

    if settings.REDIS_IS_EMBEDDED:
        from core.embedded_redis import ensure_embedded_redis

        ensure_embedded_redis()
    return settings.REDIS_URL


def database_url_for_subprocess() -> str:
    """A DATABASE_URL that points another process at the test database this session created."""
    from django.db import connection

    params = connection.settings_dict
    if params["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{auth}{params.get('HOST') or '127.0.0.1'}{port}/{params['NAME']}"


def _wait_until_worker_answers(app, worker: subprocess.Popen, node_name: str, timeout: float = 60) -> None:
    """Fail fast and clearly when the worker cannot start, instead of a task timing out later."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"the Celery worker exited during start-up with code {worker.returncode}")
        if app.control.ping(destination=[node_name], timeout=0.5):
            return
    worker.kill()
    pytest.fail(f"the Celery worker {node_name} did not answer a ping within {timeout:.0f} s")


@pytest.fixture
def celery_worker_process(transactional_db, broker_url: str) -> Iterator[subprocess.Popen]:
    """A real Celery worker in a separate process, on the real broker, using the test database."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url_for_subprocess()
    env["REDIS_URL"] = broker_url
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # A queue of this test run's own, so two test runs sharing one broker never take each other's tasks.
    from tasks.app import app

    queue = f"test-{os.getpid()}"
    app.conf.task_default_queue = queue
    node_name = f"{queue}@{socket.gethostname()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", node_name, "-Q", queue],
        cwd=REPO_ROOT,
        env=env,
    )
    _wait_until_worker_answers(app, worker, node_name)
    try:
        yield worker
    finally:
        app.conf.task_default_queue = "celery"
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
