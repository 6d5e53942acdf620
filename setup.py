"""The package-dir mapping: the folders the layout names install under one import namespace.

``gateway/`` is ``hotline_gateway``, ``adapters/`` is ``hotline_gateway.adapters`` and ``schemas/`` is
``hotline_gateway.schemas``, so the distribution squats no generic top-level name. Everything else
about the distribution is in pyproject.toml; only this mapping needs code (setuptools' ``find`` has no
prefix option).
"""

from pathlib import Path

from setuptools import find_packages, setup

ROOTS = {"hotline_gateway": "gateway", "hotline_gateway.adapters": "adapters", "hotline_gateway.schemas": "schemas"}


def packages() -> list[str]:
    found = []
    for name, folder in ROOTS.items():
        found.append(name)
        found += [f"{name}.{sub}" for sub in find_packages(folder) if Path(folder, *sub.split(".")).is_dir()]
    return found


setup(package_dir=ROOTS, packages=packages())
