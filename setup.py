"""Package list for setuptools (all other metadata is in pyproject.toml): every package under kerastui/
found by discovery, plus kerastui.presets, which lives in the top-level presets/ folder (package-dir)."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["kerastui", "kerastui.*"]), "kerastui.presets"])
