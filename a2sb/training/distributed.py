"""Data parallel plumbing over ``torch.distributed`` as ``torchrun`` sets it up.

``torchrun --nproc-per-node N -m a2sb train ...`` exports ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; across nodes under SLURM, torchrun's usual
``--nnodes``/``--rdzv-endpoint`` flags set the same variables. ``srun --ntasks N a2sb train ...``
works too: without ``WORLD_SIZE``, the tasks of a multi-task SLURM step take rank, world size and
local rank from ``SLURM_PROCID``, ``SLURM_STEP_NUM_TASKS`` and ``SLURM_LOCALID``, rendezvous at the
launch node (``SLURM_LAUNCH_NODE_IPADDR``, unless ``MASTER_ADDR`` is set) on a port derived from
the job id (unless ``MASTER_PORT`` is set). Without any of them the run is a single process.
Backend: nccl on CUDA, gloo on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ..errors import InputError


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: ``rank`` of ``world_size`` (``local_rank`` on its node)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None  # None: single process, no process group

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.backend is not None


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InputError(f"environment variable {name}={value!r} is not an integer") from None


def select_device(preference: str, local_rank: int = 0) -> torch.device:
    """``auto``: CUDA device ``local_rank`` when available, else the CPU."""
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError("device 'cuda' requested but CUDA is not available")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def _slurm_tasks() -> None:
    """Export torchrun's variables from a multi-task SLURM step's own (see the module docstring)."""
    # SLURM_STEP_NUM_TASKS exists in srun steps only, not in the batch script (which also has
    # SLURM_NTASKS and SLURM_PROCID=0)
    if os.environ.get("WORLD_SIZE") or _env_int("SLURM_STEP_NUM_TASKS", 1) <= 1:
        return
    if "SLURM_PROCID" not in os.environ:
        return
    os.environ["WORLD_SIZE"] = os.environ["SLURM_STEP_NUM_TASKS"]
    os.environ["RANK"] = os.environ["SLURM_PROCID"]
    os.environ["LOCAL_RANK"] = os.environ.get("SLURM_LOCALID", "0")
    os.environ.setdefault("MASTER_ADDR", os.environ.get("SLURM_LAUNCH_NODE_IPADDR", "127.0.0.1"))
    os.environ.setdefault("MASTER_PORT", str(15000 + _env_int("SLURM_JOB_ID", 0) % 20000))


def init_distributed(preference: str = "auto") -> DistInfo:
    """Join the process group that torchrun's (or a SLURM step's) environment describes, or stay
    single-process."""
    _slurm_tasks()
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    device = select_device(preference, local_rank)
    if world <= 1:
        return DistInfo(device=device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank, world, local_rank, device, backend)


def shutdown(info: DistInfo) -> None:
    """Leave the process group (if any)."""
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


def mean_over_ranks(info: DistInfo, values: list[float]) -> list[float]:
    """Average a few floats across ranks (identity on one process)."""
    if not info.distributed:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return (t / info.world_size).tolist()


def gather_to_main(info: DistInfo, obj: Any) -> list[Any]:
    """Every rank's ``obj`` on rank 0 (``[obj]`` on one process; ``[]`` on the other ranks)."""
    if not info.distributed:
        return [obj]
    out: list[Any] | None = [None] * info.world_size if info.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out or []


def broadcast_from_main(info: DistInfo, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not info.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers (e.g. ``(seed, rank, step)``), well mixed by SeedSequence."""
    state = np.random.SeedSequence([int(p) for p in parts]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])
