from __future__ import annotations

import platform
import socket

from core.models import WorkerHeartbeat


def worker_heartbeat_record(*, note: str = "") -> WorkerHeartbeat:
    """Record that this process (a Celery worker) is alive, and how its imports resolved."""
    import users

    return WorkerHeartbeat.objects.create(
        hostname=socket.gethostname()[:200],
        python_platform=platform.system(),
        users_module_path=str(users.__file__),
        note=note[:200],
    )
