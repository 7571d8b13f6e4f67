"""Simulation runs (thin: the work is trading.simulation.services.simulation_run)."""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded

from tasks.app import app


@app.task(name="tasks.simulations.simulation_run", bind=True, acks_late=True, ignore_result=True,
          soft_time_limit=1800, time_limit=1900)
def simulation_run_task(self, run_id: int) -> None:
    """Idempotent by design (acks_late): a finished run is left alone, a re-run replaces partial rows."""
    from trading.simulation.services import simulation_fail_timeout, simulation_run

    def progress(percent: int) -> None:
        self.update_state(state="PROGRESS", meta={"run_id": run_id, "percent": percent})

    try:
        simulation_run(run_id=run_id, progress=progress if self.request.id else None)
    except SoftTimeLimitExceeded:
        simulation_fail_timeout(run_id=run_id)
