"""The README's set-up commands, as a new user on a fresh Debian 12 runs them: Debian's own ``python3``, a copy of
the source tree and nothing preinstalled (the commands make their own virtual environment)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.live import free_port, get

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3")
NOT_COPIED = shutil.ignore_patterns(".venv", ".git", "var", "__pycache__", "*.egg-info", "build", ".*_cache")


def setup_commands() -> list[str]:
    section = ROOT.joinpath("README.md").read_text().split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, re.S)


def test_the_readme_has_two_commands_and_ci_runs_the_second_as_it_stands() -> None:
    serve, tests = setup_commands()
    assert "giaoban serve --demo" in serve and "pytest" in tests
    assert tests in ROOT.joinpath(".ci/run").read_text().splitlines()


def test_the_first_command_installs_and_serves_on_debians_own_python(tmp_path: Path) -> None:
    assert DEBIAN_PYTHON.exists(), "Debian's python3 is missing (.ci/run installs python3 and python3-venv)"
    serve, _ = setup_commands()
    tree = tmp_path / "giaoban"
    shutil.copytree(ROOT, tree, ignore=NOT_COPIED)
    port = free_port()
    environment = {**os.environ, "PATH": f"/usr/bin:{os.environ.get('PATH', '')}", "GIAOBAN_PORT": str(port)}
    for inherited in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        environment.pop(inherited, None)
    process = subprocess.Popen(["sh", "-c", serve], cwd=tree, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 420  # a venv and an install from the registry's cache, then the start
        while time.monotonic() < deadline:
            assert process.poll() is None, f"the command stopped: {process.communicate()[0][-3000:]}"
            try:
                status, health = get(f"http://127.0.0.1:{port}/healthz")
            except OSError:
                time.sleep(0.5)
                continue
            assert status == 200 and health["store"]["embedded"] is True
            break
        else:
            raise AssertionError("the README's first command did not serve /healthz within 7 minutes")
        python = (tree / ".venv/bin/python").resolve()
        assert python.is_relative_to(Path("/usr")), f"the venv was made from {python}, not Debian's python3"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert "admin" in output and "demo-admin" in output  # the demo accounts, printed at start
