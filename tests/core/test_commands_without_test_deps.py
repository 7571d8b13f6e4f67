"""Every `ldp` command works after README command 1 alone: no test-only package is imported on its way.

A subprocess hides the `[test]` extras (pytest, factory_boy, hypothesis and what they pull in) behind a
meta-path finder, sets Django up, builds the `ldp` parser (which imports every command and benchmark
module), then imports every first-party module each `ldp` module can reach — following imports inside
functions too, since a command imports most of what it runs only when it runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# The `[test]` extras of pyproject.toml and the packages they bring; README command 1 installs none of them.
TEST_ONLY_PACKAGES = [
    "pytest", "_pytest", "pytest_django", "pytest_timeout", "pluggy", "iniconfig",
    "factory", "faker", "hypothesis", "sortedcontainers", "pygments", "ruff",
]

# Modules that still import a test-only package, each with the reason. The mark is strict: when the
# module is fixed the test reports an unexpected pass, and the entry must go.
STILL_BROKEN = {
    "ldp.benchmarks.ttadak": "imports ccxt_binanceusdm from the pytest plugin emulators.exchange.testing "
                             "(issue 13: the engine branch moves it)",
}

PROBE = textwrap.dedent(r'''
    import ast, importlib, importlib.abc, importlib.util, json, os, pkgutil, sys, tomllib, traceback

    BLOCKED = set(sys.argv[1].split(","))

    class RefuseTestPackages(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (a test-only package)", name=name)
            return None

    sys.meta_path.insert(0, RefuseTestPackages())
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

    import ldp
    repo = os.path.dirname(os.path.dirname(ldp.__file__))
    with open(os.path.join(repo, "pyproject.toml"), "rb") as f:
        first_party = set(tomllib.load(f)["tool"]["ruff"]["lint"]["isort"]["known-first-party"])

    from ldp.django_setup import setup_django
    setup_django()
    from ldp.cli import build_parser
    build_parser()

    def is_module(name):
        try:
            return importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            return False

    def imported_names(module_name, origin):
        """First-party modules a source file imports, anywhere in it (also inside functions)."""
        tree = ast.parse(open(origin, encoding="utf-8").read())
        package = module_name if origin.endswith("__init__.py") else module_name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                yield base
                for alias in node.names:
                    if is_module(f"{base}.{alias.name}"):
                        yield f"{base}.{alias.name}"

    errors, children = {}, {}

    def visit(name):
        if name in children or name.partition(".")[0] not in first_party:
            return
        children[name] = []
        try:
            module = importlib.import_module(name)
        except BaseException as exc:  # a module calling sys.exit at import time is a failure too
            errors[name] = "".join(traceback.format_exception_only(exc)).strip()
            return
        origin = getattr(module, "__file__", None)
        if origin and origin.endswith(".py"):
            children[name] = sorted(set(imported_names(name, origin)))
            for child in children[name]:
                visit(child)

    def failures_reached_from(entry):
        seen, stack, found = set(), [(entry, [entry])], {}
        while stack:
            name, path = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in errors:
                found[name] = {"error": errors[name], "via": " -> ".join(path)}
            stack.extend((child, path + [child]) for child in children.get(name, []))
        return found

    entries = ["ldp", "ldp.cli", "ldp.django_setup"]
    for package in ("ldp.commands", "ldp.benchmarks"):
        module = importlib.import_module(package)
        entries += [f"{package}.{info.name}" for info in pkgutil.iter_modules(module.__path__)]
    for entry in entries:
        visit(entry)
    # Everything else that is installed: worker, beat, web and the chat processes load modules by name.
    installed = []
    for top in sorted(first_party):
        package = importlib.import_module(top)
        installed.append(top)
        if hasattr(package, "__path__"):
            installed += [info.name for info in pkgutil.walk_packages(package.__path__, prefix=f"{top}.")
                          if not info.name.endswith("__main__")]  # running one would start a program
    for name in installed:
        visit(name)
    print(json.dumps({"entries": {entry: failures_reached_from(entry) for entry in entries},
                      "installed": {name: errors.get(name) for name in installed},
                      "modules_imported": len(children)}))
''')


def run_probe() -> dict:
    # Outside the repository, as an installed `ldp` runs: the current directory must not put tests/ on the path.
    result = subprocess.run([sys.executable, "-c", PROBE, ",".join(TEST_ONLY_PACKAGES)], capture_output=True,
                            text=True, cwd="/", timeout=240)
    assert result.returncode == 0, f"the probe itself failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def probe() -> dict:
    return run_probe()


def ldp_module_names() -> list[str]:
    names = ["ldp", "ldp.cli", "ldp.django_setup"]
    for package in ("commands", "benchmarks"):
        folder = REPO_ROOT / "ldp" / package
        names += sorted(f"ldp.{package}.{path.stem}" for path in folder.glob("*.py") if path.stem != "__init__")
    return names


def test_the_probe_refuses_test_packages_and_reaches_the_code_base(probe: dict) -> None:
    assert set(probe["entries"]) == set(ldp_module_names())
    assert probe["modules_imported"] > 100  # the commands reach most of the platform, not just ldp/
    result = run_without_test_packages("import pytest")
    assert result.returncode != 0 and "a test-only package" in result.stderr


def run_without_test_packages(code: str) -> subprocess.CompletedProcess:
    refuse = PROBE.split("sys.meta_path.insert")[0] + "sys.meta_path.insert(0, RefuseTestPackages())\n"
    return subprocess.run([sys.executable, "-c", refuse + code, ",".join(TEST_ONLY_PACKAGES)],
                          capture_output=True, text=True, cwd="/", timeout=60)


def test_ldp_test_without_test_packages_says_how_to_install_them() -> None:
    result = run_without_test_packages("from ldp.cli import main\nsys.exit(main(['test']))")
    assert result.returncode == 2, result.stderr
    assert "pip install -q -e '.[test]'" in result.stderr and "README command 2" in result.stderr


@pytest.mark.parametrize("module", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=STILL_BROKEN[name])) if name in STILL_BROKEN
    else name
    for name in ldp_module_names()
])
def test_ldp_module_imports_nothing_test_only(probe: dict, module: str) -> None:
    failures = probe["entries"][module]
    assert not failures, "\n".join(f"{name}: {failure['error']}\n  reached by {failure['via']}"
                                   for name, failure in failures.items())


# The pytest plugin of the exchange emulator is for tests by design (`pytest_plugins` in tests/conftest.py).
TEST_PLUGINS = {"emulators.exchange.testing"}


def test_every_installed_module_imports_without_test_packages(probe: dict) -> None:
    failing = {name: error for name, error in probe["installed"].items() if error and name not in TEST_PLUGINS}
    assert not failing, "\n".join(f"{name}: {error}" for name, error in sorted(failing.items()))
    assert len(probe["installed"]) > 200
