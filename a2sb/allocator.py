"""Training's C heap: freed large blocks are kept for reuse (glibc).

glibc serves every block above its mmap threshold (at most 32 MiB, raised dynamically) with a
fresh ``mmap`` and returns it with ``munmap`` when freed, so each network call on the CPU
faults in all of its large activations page by page again. With the threshold at 1 GiB and no
trimming the heap keeps them. Measured on this project's 2-core machine (torch 2.13.0+cpu, 2
threads): the default profile's pre-training ran at 5.26 against 3.34 samples/s
(benchmarks/bench_training.py, 10 timed steps), peak resident memory 1881 against 1636 MiB;
twelve steps through ``a2sb train`` ended on the same loss to the last digit (where a block
lies changes no number), in 21.9 against 27.8 s. One bench-small network call on 3 windows of
the paper STFT: 2.8 against 5.2 s (3.9 s of it in the kernel, 1.8 million page faults).

Only training sets it (``a2sb train``, ``python -m baselines train``, through
:func:`a2sb.cli.run_program`), not restoration: a heap that keeps freed blocks grows in steps
wherever a call's blocks no longer fit the holes earlier ones left, so resident memory stops
following what is live. Measured with benchmarks/bench_streaming.py (narrow network, stereo, 1 step):
streaming a 60-minute file peaked at 1731 MiB against 1354 MiB for 1 minute (+28 %; 1402 MiB
without). ``A2SB_KEEP_FREED_MEMORY=0`` turns it off, and so does any ``MALLOC_*`` setting of
the user's or a ``GLIBC_TUNABLES`` that names malloc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Mapping

#: mallopt(3) parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: blocks below this come from the heap and are reused; above, mmap as before
MMAP_THRESHOLD = 1 << 30
#: free memory at the heap's top kept rather than returned (the largest int mallopt takes)
TRIM_THRESHOLD = 2**31 - 1
#: the switch, in the environment
SWITCH = "A2SB_KEEP_FREED_MEMORY"


def user_tuned(env: Mapping[str, str]) -> bool:
    """Whether the environment already tunes glibc's malloc (then it is left as it is)."""
    return any(k.startswith("MALLOC_") for k in env) or "malloc" in env.get("GLIBC_TUNABLES", "")


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    # only glibc has gnu_get_libc_version (musl's mallopt does nothing)
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def keep_freed_blocks(env: Mapping[str, str] | None = None) -> bool:
    """Raise glibc's mmap threshold to :data:`MMAP_THRESHOLD` and stop trimming the heap, for
    this process; whether it was done (not on other C libraries, nor when switched off)."""
    env = os.environ if env is None else env
    if env.get(SWITCH, "1").strip().lower() in ("0", "false", "no", "off") or user_tuned(env):
        return False
    libc = _glibc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
