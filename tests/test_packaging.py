"""Packaging: the sdist and the wheel carry the templates and static files, and the wheel,
installed into a fresh virtual environment outside the checkout, runs a working site.

This is CI's install check (``.ci/run`` runs the README's test command, which includes it):
build with ``python -m build``, install the wheel with pip, then ``syndicate init``,
``syndicate demo --articles 200`` and ``syndicate serve`` on a free loopback port, and fetch a
page, a feed, a static file and a demo image. It needs pip to reach the package index (for
the build backend and the dependencies); pip's cache makes a second run quick.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from deploy.stack import free_port, stop_processes, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of an operator's shell: no checkout on the path, no settings of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNDICATE_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, **extra}


def _run(args: list, cwd: Path, timeout: float = 600, **env: str) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_clean_env(**env), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=out)
    return out


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment, outside the checkout, with the wheel installed."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    wheel = next(dist.glob("syndicate-*.whl"))
    _run([env_dir / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=env_dir.parent)
    return env_dir


def test_the_sdist_and_wheel_carry_templates_and_static_files(dist):
    wheel = zipfile.ZipFile(next(dist.glob("syndicate-*.whl"))).namelist()
    for name in ("templates/base.html", "templates/partials/pagination.html", "templates/feeds/opml.xml"):
        assert f"syndicate/{name}" in wheel
    for name in ("style.css", "feed.xsl", "feed.css", "feed-icon.png"):
        assert f"syndicate/static/{name}" in wheel
    assert not [n for n in wheel if "/demo/" in n or n.endswith(".db")]  # no generated files
    with tarfile.open(next(dist.glob("syndicate-*.tar.gz"))) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"templates/base.html", "static/style.css", "pyproject.toml", "syndicate/importers/jsonfeed.py"} <= names


def test_the_installed_wheel_serves_pages_feeds_and_static_files(installed, tmp_path):
    syndicate = installed / "bin" / "syndicate"
    work = tmp_path / "elsewhere"  # not the checkout: nothing may be found through the cwd
    work.mkdir()
    init = _run([syndicate, "init"], cwd=work)
    instance = installed / "var" / "syndicate-instance"  # Flask's default for an installed package
    assert str(instance / "syndicate.db") in init
    _run([syndicate, "demo", "--articles", "200"], cwd=work)
    site_packages = next(installed.glob("lib/python*/site-packages"))
    assert not (site_packages / "syndicate" / "static" / "demo").exists()
    assert (instance / "media" / "demo" / "lead-0.svg").is_file()

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [syndicate, "serve", "--port", str(port)], cwd=work, env=_clean_env(), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port, proc, log)
        base = f"http://127.0.0.1:{port}"
        pages = {
            "/": b"<!doctype html>",
            "/feed/": b"<rss",
            "/feed/json/": b"jsonfeed.org",
            "/static/style.css": b"{",
            "/static/demo/lead-0.svg": b"<svg",
        }
        for path, start in pages.items():
            with urllib.request.urlopen(base + path, timeout=10) as response:
                assert response.status == 200, path
                assert start in response.read(), path
    finally:
        stop_processes([proc])
    assert b"Traceback" not in log.read_bytes()


def test_syndicate_instance_puts_the_instance_folder_anywhere(installed, tmp_path):
    instance = tmp_path / "newsroom"
    out = _run([installed / "bin" / "syndicate", "init"], cwd=tmp_path, SYNDICATE_INSTANCE=str(instance))
    assert str(instance / "syndicate.db") in out and (instance / "syndicate.db").is_file()
