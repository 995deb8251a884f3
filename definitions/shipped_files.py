"""The data files shipped inside the package (workflows, the agency registry, the 2025 reorganisation, the plan),
found through ``importlib.resources`` so that an installed wheel finds them as the checkout does."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def shipped(*parts: str) -> Path:
    """A file or folder of the ``definitions`` package, e.g. ``shipped("plan", "ke-hoach-2022.yaml")``.
    setuptools installs packages unzipped, so the resource is a real path (the loaders read paths)."""
    return Path(str(files("definitions").joinpath(*parts)))


WORKFLOWS = ("shipped",)
REGISTRY = ("registry", "agencies.yaml")
REORGANISATION = ("registry", "reorg-2025.yaml")
PLAN = ("plan", "ke-hoach-2022.yaml")
