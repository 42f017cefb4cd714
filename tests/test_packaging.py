"""The project's install recipes agree with each other (pyproject, environment.yml, Makefile)."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def env_pip() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"]
    pips = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pips) == 1
    return pips[0]


def test_top_level_packages_are_declared_explicitly():
    include = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {"a2sb*", "baselines*", "metrics*"} <= set(include)
    for pkg in ("a2sb", "baselines", "metrics"):
        assert (ROOT / pkg / "__init__.py").exists(), pkg


def test_environment_yml_matches_pyproject():
    deps = pyproject()["project"]["dependencies"]
    torch_pin = next(d for d in deps if d.startswith("torch"))
    pip = env_pip()
    assert torch_pin in pip
    editable = next(p for p in pip if p.startswith("-e ."))
    extras = set(re.search(r"\[(.*)\]", editable).group(1).split(","))
    assert extras == set(pyproject()["project"]["optional-dependencies"]) - {"baselines"}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    major_minor = tuple(int(v) for v in python.split("=")[1].split("."))
    minimum = tuple(
        int(v) for v in pyproject()["project"]["requires-python"].lstrip(">=").split(".")
    )
    assert major_minor >= minimum


def test_makefile_installs_the_same_extras_and_pins():
    make = (ROOT / "Makefile").read_text()
    extras = set(re.search(r'-e "\.\[(.*?)\]"', make).group(1).split(","))
    editable = next(p for p in env_pip() if p.startswith("-e ."))
    assert extras == set(re.search(r"\[(.*)\]", editable).group(1).split(","))
    assert '"torch==2.13.0"' in make
    basic_pitch = re.search(r"--no-deps \"(basic-pitch==[\d.]+)\"", make).group(1)
    assert basic_pitch in (ROOT / "environment.yml").read_text()


def test_no_torchaudio_anywhere():
    text = (ROOT / "pyproject.toml").read_text() + (ROOT / "environment.yml").read_text()
    assert "torchaudio" not in text


def test_package_data_names_files_that_exist():
    data = pyproject()["tool"]["setuptools"]["package-data"]
    for package, patterns in data.items():
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), f"{package}/{pattern} matches nothing"


def test_ci_runs_the_tests_and_the_linters():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make lint" in ci
