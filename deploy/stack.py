"""Run Syndicate the way it is deployed beyond one process: several waitress processes on one
SQLite file, one shared Redis cache, and a caching reverse proxy (nginx or Varnish) in front.

Used by tests/test_deploy.py and bench/proxy_bench.py on free loopback ports and temporary
directories, and by operators to try the deployment locally:

    python -m deploy.stack --database instance/syndicate.db --processes 2 --proxy nginx --port 8080
    python -m deploy.stack --render nginx --port 80 --upstream 127.0.0.1:8001 --upstream 127.0.0.1:8002

``--render`` prints a filled-in config (deploy/nginx.conf or deploy/varnish.vcl) and exits.
Every process started here is stopped by ``Stack.stop()`` (by its own pid, nothing else).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATES = {"nginx": HERE / "nginx.conf", "varnish": HERE / "varnish.vcl"}
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def render(template: str | Path, values: Mapping[str, object]) -> str:
    """The template with every ``@NAME@`` replaced; a placeholder without a value is an error
    (a half-rendered config would start with a broken line and fail far from the cause)."""
    text = Path(template).read_text()
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(values))
    if missing:
        raise KeyError(f"{Path(template).name}: no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def nginx_values(
    *,
    listen: str,
    upstreams: Sequence[str],
    state_dir: Path,
    log_dir: Path,
    static_dir: Path = ROOT / "static",
    daemon: bool = False,
    worker_processes: str = "auto",
    cache_max_size: str = "1g",
    access_log: bool = True,
) -> dict[str, object]:
    """Values for deploy/nginx.conf."""
    # As root, nginx's workers would run as "nobody", which cannot enter a private (0700)
    # temporary directory; in tests they stay root. Unprivileged, nginx ignores the directive.
    user_line = "user root root;" if os.geteuid() == 0 and not daemon else ""
    return {
        "USER_LINE": user_line,
        "DAEMON": "on" if daemon else "off",
        "WORKER_PROCESSES": worker_processes,
        "STATE_DIR": state_dir,
        "LOG_DIR": log_dir,
        "ACCESS_LOG": f"{log_dir}/nginx-access.log syndicate" if access_log else "off",
        "CACHE_MAX_SIZE": cache_max_size,
        "UPSTREAM_SERVERS": "\n".join(f"        server {u} max_fails=3 fail_timeout=5s;" for u in upstreams),
        "LISTEN": listen,
        "STATIC_DIR": static_dir,
    }


def varnish_values(*, upstreams: Sequence[str], probe: bool = True) -> dict[str, object]:
    """Values for deploy/varnish.vcl: one backend per upstream, all in one round-robin director."""
    backends, adds = [], []
    for number, upstream in enumerate(upstreams, 1):
        host, port = upstream.rsplit(":", 1)
        check = " .probe = healthz;" if probe else ""
        backends.append(f'backend app{number} {{ .host = "{host}"; .port = "{port}";{check} }}')
        adds.append(f"    app.add_backend(app{number});")
    return {"BACKENDS": "\n".join(backends), "DIRECTOR_ADD": "\n".join(adds)}


def stop_processes(procs: Sequence[subprocess.Popen]) -> None:
    """Terminate ``procs`` newest first (the proxy before its upstreams), then wait for each,
    killing any that ignores SIGTERM for 10 s."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    for proc in reversed(procs):
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(
    port: int, proc: subprocess.Popen | None = None, log: Path | None = None, timeout: float = 30.0
) -> None:
    """Block until something accepts connections on 127.0.0.1:port; fail early, with the tail
    of its log, if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing is listening on 127.0.0.1:{port} after {timeout} s")


@dataclass
class Stack:
    """Redis (unless ``redis_url`` is given), ``processes`` waitress processes and a proxy."""

    database: Path
    workdir: Path
    processes: int = 2
    threads: int = 4
    proxy: str | None = "nginx"  # "nginx", "varnish" or None (the processes only)
    proxy_port: int | None = None
    redis_url: str | None = None
    settings: dict[str, str] = field(default_factory=dict)  # more SYNDICATE_* settings
    purge: bool = False  # the processes purge the proxy (Varnish, xkey) on every write
    static_dir: Path = ROOT / "static"
    access_log: bool = True
    app_ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def app_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.app_ports]

    def _start(self, args: Sequence[str], name: str, port: int, env: Mapping[str, str] | None = None):
        log = self.workdir / "logs" / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(list(args), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        self.procs.append(proc)
        wait_for_port(port, proc, log)
        return proc

    def start(self) -> Stack:
        try:
            self._start_all()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_all(self) -> None:
        self.workdir = Path(self.workdir)
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        if self.redis_url is None:
            port = free_port()
            redis = shutil.which("redis-server") or "redis-server"
            self._start(
                [redis, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                 "--dir", str(self.workdir)],
                "redis", port,
            )  # fmt: skip
            self.redis_url = f"redis://127.0.0.1:{port}/0"
        self.proxy_port = self.proxy_port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.update(
            SYNDICATE_CACHE_TYPE="RedisCache",
            SYNDICATE_CACHE_REDIS_URL=self.redis_url,
            SYNDICATE_SITE_URL=self.proxy_url if self.proxy else "http://127.0.0.1",
        )
        if self.purge:
            if self.proxy != "varnish":
                raise ValueError("purging needs the Varnish proxy (deploy/varnish.vcl answers xkey purges)")
            env["SYNDICATE_PURGE_URLS"] = self.proxy_url
        env.update({f"SYNDICATE_{k}": str(v) for k, v in self.settings.items()})
        for number in range(1, self.processes + 1):
            port = free_port()
            self._start(
                [sys.executable, "-m", "syndicate", "--database", str(self.database), "serve",
                 "--port", str(port), "--threads", str(self.threads)],
                f"app{number}", port, env,
            )  # fmt: skip
            self.app_ports.append(port)
        if self.proxy == "nginx":
            self._start_nginx()
        elif self.proxy == "varnish":
            self._start_varnish()
        elif self.proxy is not None:
            raise ValueError(f"unknown proxy {self.proxy!r} (nginx, varnish or None)")

    def _upstreams(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.app_ports]

    def _start_nginx(self) -> None:
        state, logs = self.workdir / "nginx", self.workdir / "logs"
        state.mkdir(exist_ok=True)
        values = nginx_values(
            listen=f"127.0.0.1:{self.proxy_port}", upstreams=self._upstreams(), state_dir=state, log_dir=logs,
            static_dir=self.static_dir, access_log=self.access_log,
        )  # fmt: skip
        conf = state / "nginx.conf"
        conf.write_text(render(TEMPLATES["nginx"], values))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self._start([nginx, "-c", str(conf), "-p", str(state), "-e", str(logs / "nginx-error.log")], "nginx",
                    self.proxy_port)  # fmt: skip

    def _start_varnish(self) -> None:
        state = self.workdir / "varnish"
        state.mkdir(exist_ok=True)
        vcl = self.workdir / "syndicate.vcl"
        vcl.write_text(render(TEMPLATES["varnish"], varnish_values(upstreams=self._upstreams())))
        varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
        self._start(
            [varnishd, "-F", "-j", "none", "-a", f"127.0.0.1:{self.proxy_port}", "-T", f"127.0.0.1:{free_port()}",
             "-f", str(vcl), "-s", "malloc,128m", "-n", str(state)],
            "varnish", self.proxy_port,
        )  # fmt: skip

    def stop_proxy(self) -> None:
        """Stop the proxy alone (the last process started), by pid."""
        proxy = self.procs.pop()
        stop_processes([proxy])

    def start_proxy(self) -> None:
        """Start the proxy again on the same port (after ``stop_proxy``)."""
        self._start_varnish() if self.proxy == "varnish" else self._start_nginx()

    def stop(self) -> None:
        """Stop every process this stack started, proxy first, by pid."""
        stop_processes(self.procs)
        self.procs.clear()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, help="the SQLite file every process shares")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="waitress threads per process")
    parser.add_argument("--proxy", choices=["nginx", "varnish", "none"], default="nginx")
    parser.add_argument("--port", type=int, default=8080, help="where the proxy listens (127.0.0.1)")
    parser.add_argument("--redis-url", help="an existing Redis (default: start a private redis-server)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "instance" / "stack")
    parser.add_argument("--purge", action="store_true", help="purge Varnish by surrogate key on every write")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a SYNDICATE_ setting")
    parser.add_argument("--render", choices=["nginx", "varnish"], help="print a filled-in config and exit")
    parser.add_argument("--upstream", action="append", default=[], metavar="HOST:PORT", help="with --render")
    args = parser.parse_args(argv)

    if args.render:
        upstreams = args.upstream or ["127.0.0.1:8001", "127.0.0.1:8002"]
        if args.render == "nginx":
            values = nginx_values(
                listen=str(args.port), upstreams=upstreams, state_dir=Path("/var/cache/syndicate-nginx"),
                log_dir=Path("/var/log/nginx"), daemon=True,
            )  # fmt: skip
            values["USER_LINE"] = "user www-data;"  # Debian's unprivileged web user
        else:
            values = varnish_values(upstreams=upstreams)
        sys.stdout.write(render(TEMPLATES[args.render], values))
        return
    if not args.database:
        parser.error("--database is required (or --render)")
    settings = dict(item.split("=", 1) for item in args.set)
    stack = Stack(
        database=args.database.resolve(), workdir=args.workdir, processes=args.processes, threads=args.threads,
        proxy=None if args.proxy == "none" else args.proxy, proxy_port=args.port, redis_url=args.redis_url,
        settings=settings, purge=args.purge,
    )  # fmt: skip
    with stack:
        print(f"Syndicate on {stack.proxy_url} ({args.proxy}) -> {', '.join(stack.app_urls)}; Redis {stack.redis_url}")
        print(f"Logs in {stack.workdir / 'logs'}. Ctrl-C stops everything.")
        try:
            while all(p.poll() is None for p in stack.procs):
                time.sleep(0.5)
            print("a process exited; stopping the stack", file=sys.stderr)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
