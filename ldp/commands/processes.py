"""Process commands: `ldp up` (everything), `web`, `worker`, `beat`, `down`."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config.env import BASE_DIR, VAR_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    up = subparsers.add_parser(
        "up",
        help="migrate, load the demo on first run, and run web + worker + beat (+ chat bots when tokens are set)",
    )
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--no-demo", action="store_true", help="do not load the demo catalog on first run")
    up.set_defaults(handler=run_up)

    web = subparsers.add_parser("web", help="serve the admin, API and webhooks (gunicorn)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--workers", type=int, default=2)
    web.set_defaults(handler=run_web)

    worker = subparsers.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--queues", default="", help="comma-separated queue names (default: all)")
    worker.set_defaults(handler=run_worker)

    beat = subparsers.add_parser("beat", help="run the Celery beat scheduler")
    beat.set_defaults(handler=run_beat)

    down = subparsers.add_parser("down", help="stop the embedded broker started by `ldp up`")
    down.set_defaults(handler=run_down)


def _exec(argv: list[str]) -> int:
    from ldp.django_setup import ensure_broker

    ensure_broker()
    os.execvp(argv[0], argv)
    return 0  # unreachable


def web_argv(host: str, port: int, workers: int = 2) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"{host}:{port}", "--workers", str(workers), "--access-logfile", "-",
        "--graceful-timeout", "10",
    ]


def worker_argv(concurrency: int = 2, queues: str = "") -> list[str]:
    argv = [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--loglevel", "INFO",
            "--concurrency", str(concurrency)]
    if queues:
        argv += ["--queues", queues]
    return argv


def beat_argv() -> list[str]:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return [sys.executable, "-m", "celery", "-A", "tasks", "beat", "--loglevel", "INFO",
            "--schedule", str(VAR_DIR / "celerybeat-schedule")]


def run_web(args: argparse.Namespace) -> int:
    return _exec(web_argv(args.host, args.port, args.workers))


def run_worker(args: argparse.Namespace) -> int:
    return _exec(worker_argv(args.concurrency, args.queues))


def run_beat(args: argparse.Namespace) -> int:
    return _exec(beat_argv())


def run_down(args: argparse.Namespace) -> int:
    from core.embedded_redis import stop_embedded_redis

    print("embedded broker stopped" if stop_embedded_redis() else "no embedded broker was running")
    return 0


def _prepare() -> bool:
    """Returns whether this call started the embedded broker (so `up` stops it again on exit)."""
    from django.core.management import call_command

    from ldp.django_setup import ensure_broker, setup_django

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    started_broker = ensure_broker()
    setup_django()
    print("• migrating the database …", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    return started_broker


def _chat_processes() -> list[tuple[str, list[str]]]:
    from django.conf import settings

    commands_dir = Path(__file__).parent
    processes = []
    if settings.TELEGRAM_BOT_TOKEN and (commands_dir / "telegram.py").exists():
        processes.append(("telegram", [sys.executable, "-m", "ldp.cli", "telegram"]))
    if settings.SLACK_BOT_TOKEN and (commands_dir / "slack.py").exists():
        processes.append(("slack", [sys.executable, "-m", "ldp.cli", "slack"]))
    return processes


def run_up(args: argparse.Namespace) -> int:
    started_broker = _prepare()
    from core.demo import demo_admin_credentials_ensure, demo_catalog_is_loaded, demo_load

    if not args.no_demo and not demo_catalog_is_loaded():
        print("• first run: loading the demo catalog and market data …", flush=True)
        demo_load(progress=True)
    username, password = demo_admin_credentials_ensure()

    processes = [
        ("web", web_argv(args.host, args.port)),
        ("worker", worker_argv()),
        ("beat", beat_argv()),
        *_chat_processes(),
    ]
    children: dict[str, subprocess.Popen] = {}
    for name, argv in processes:
        children[name] = subprocess.Popen(argv, cwd=BASE_DIR)
    base = f"http://{args.host}:{args.port}"
    print(
        f"\nL&D Platform is up ({', '.join(children)}).\n"
        f"  admin     {base}/admin/   login: {username} / {password}\n"
        f"  API docs  {base}/api/docs\n"
        f"  stop      Ctrl-C\n",
        flush=True,
    )
    exit_code = _supervise(children)
    if started_broker:
        from core.embedded_redis import stop_embedded_redis

        stop_embedded_redis()
    return exit_code


def _supervise(children: dict[str, subprocess.Popen]) -> int:
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"! {name} exited with code {child.returncode}; stopping the rest", flush=True)
                exit_code = child.returncode or 1
                stopping = True
                break
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code
