from __future__ import annotations

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class WorkerHeartbeat(models.Model):
    """Written by a Celery task: proves the broker and a worker process are alive."""

    hostname = models.CharField(max_length=200)
    python_platform = models.CharField(max_length=200, help_text="platform.system() inside the worker")
    users_module_path = models.CharField(max_length=500, help_text="where `users` resolved in the worker")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.created_at:%Y-%m-%d %H:%M:%S}"
