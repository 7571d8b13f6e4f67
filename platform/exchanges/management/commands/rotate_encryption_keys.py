"""`manage.py rotate_encryption_keys`: re-encrypt every exchange key with the newest encryption key.

Rotation: put the new key FIRST in FIELD_ENCRYPTION_KEY (comma-separated, old keys after it), deploy,
run this command, then drop the old keys from the setting.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.crypto import DecryptionError
from exchanges.services import exchange_settings_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every stored exchange API key and secret with the newest FIELD_ENCRYPTION_KEY."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            changed = exchange_settings_reencrypt(batch_size=options["batch_size"])
        except DecryptionError as error:
            raise CommandError(f"{error}: add the old key to FIELD_ENCRYPTION_KEY (after the new one)") from None
        self.stdout.write(self.style.SUCCESS(f"re-encrypted {changed} exchange key(s) with the newest key"))
