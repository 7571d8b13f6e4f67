"""A task travels through the real broker to a worker in another process and has its effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import WorkerHeartbeat
from tasks.system import worker_heartbeat

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_task_runs_in_separate_worker_process_through_the_broker(celery_worker_process) -> None:
    result = worker_heartbeat.delay(note="roundtrip")
    payload = result.get(timeout=60)

    beat = WorkerHeartbeat.objects.get(pk=int(payload["id"]))
    assert beat.note == "roundtrip"
    # The worker resolved `users` under platform/ and still has the stdlib `platform`.
    assert Path(beat.users_module_path).resolve().is_relative_to(REPO_ROOT / "platform")
    assert beat.python_platform == "Linux"
    assert celery_worker_process.poll() is None
