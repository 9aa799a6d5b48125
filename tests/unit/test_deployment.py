"""The container recipe and the compose file say what the code needs (no Docker engine here: read, not run)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_image_copies_every_package_the_project_installs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE))
    assert packages == copied, f"Dockerfile copies {sorted(copied)}, the project installs {sorted(packages)}"


def test_the_compose_files_media_ports_are_a_valid_range_apart_from_turns() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    media = re.search(r"GIAOBAN_MEDIA_PORTS: (\d+)-(\d+)", compose)
    turn = re.search(r"--min-port=(\d+)\s+- --max-port=(\d+)", compose)
    assert media and turn
    first, last = int(media[1]), int(media[2])
    assert 1024 <= first < last and (last < int(turn[1]) or first > int(turn[2]))  # the relay's and coturn's apart
