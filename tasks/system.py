"""Platform-level tasks: liveness of the broker and workers."""

from __future__ import annotations

from tasks.app import app


@app.task(name="tasks.system.worker_heartbeat", ignore_result=False)
def worker_heartbeat(note: str = "") -> dict[str, str]:
    from core.services import worker_heartbeat_record

    beat = worker_heartbeat_record(note=note)
    return {
        "id": str(beat.pk),
        "python_platform": beat.python_platform,
        "users_module_path": beat.users_module_path,
    }
