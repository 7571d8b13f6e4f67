"""platform/ is a source root: apps import by their own names, and the stdlib `platform` is intact."""

from __future__ import annotations

import importlib
import platform
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_platform_folder_is_not_a_package() -> None:
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()


@pytest.mark.parametrize("app", ["core", "users", "exchanges", "funds", "bots", "marketdata", "trading"])
def test_apps_resolve_under_platform_folder(app: str) -> None:
    module = importlib.import_module(app)
    assert Path(module.__file__).resolve().parent.parent == REPO_ROOT / "platform"


def test_stdlib_platform_still_works_in_the_django_process() -> None:
    assert platform.__file__ is not None and "site-packages" not in platform.__file__
    assert platform.system() in {"Linux", "Darwin", "Windows"}
    assert callable(platform.python_version)
