"""The demo province shipped with the package: Lào Cai with its districts, commune clusters and communes.

Names are real where known (district and commune names of Lào Cai before the 2025 reorganisation); coordinates
are plausible positions near each district centre; e-mail addresses use the reserved ``.example`` domain so that
a demo can never mail a real office.
"""

from __future__ import annotations

from importlib import resources

from scheduler.directory.units import Unit, parse_units_csv


def demo_units_csv() -> bytes:
    return resources.files("scheduler.directory").joinpath("data/lao_cai.csv").read_bytes()


def demo_units() -> dict[str, tuple[int, Unit]]:
    return parse_units_csv(demo_units_csv())
