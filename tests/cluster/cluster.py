"""Start and stop the tests' single-node SLURM cluster (tests/cluster/slurm_up.sh, slurm_down.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def start_cluster(folder: Path, cpus: int | None = None) -> dict[str, str]:
    """Bring the cluster up in ``folder``; the environment its clients need (SLURM_CONF, PATH).
    ``cpus``: the CPUs the node declares (default: this host's).

    Fails (never skips) with the daemons' logs when the cluster does not start.
    """
    env = {**os.environ, **({"SLURM_UP_CPUS": str(cpus)} if cpus else {})}
    up = subprocess.run(["bash", str(HERE / "slurm_up.sh"), str(folder)], capture_output=True,
                        text=True, timeout=900, env=env)  # fmt: skip
    if up.returncode != 0:
        stop_cluster(folder)
        raise AssertionError(f"SLURM did not start:\n{up.stdout[-3000:]}\n{up.stderr[-6000:]}")
    return {
        **os.environ,
        "SLURM_CONF": str(folder / "slurm.conf"),
        "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def stop_cluster(folder: Path) -> None:
    subprocess.run(["bash", str(HERE / "slurm_down.sh"), str(folder)], capture_output=True,
                   text=True, timeout=120)  # fmt: skip
