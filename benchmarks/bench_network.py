"""Parameters and forward time of each network preset (SPEC 5, 11).

    python benchmarks/bench_network.py [--presets tiny small] [--shape 1 3 256 256]
        [--device cpu] [--repeats 3] [--bf16]

Prints one line per preset: parameters, and the best of ``--repeats`` no-grad forward passes
after one warm-up (``paper`` presets are only counted, on the meta device, unless
``--device`` is a GPU).
"""

from __future__ import annotations

import argparse
import time

import torch

from a2sb.network import PRESETS, build_model, count_parameters


def forward_seconds(
    name: str, shape: list[int], device: str, repeats: int, bf16: bool
) -> tuple[float, float]:
    """Best forward time in seconds and peak GPU memory in GiB (0 on CPU)."""
    torch.manual_seed(0)
    model = build_model(name).to(device).eval()
    shape = [shape[0], model.config.in_channels, *shape[2:]]
    x = torch.randn(shape, device=device)
    t = torch.rand(shape[0], device=device)
    cuda = device.startswith("cuda")
    best = float("inf")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with torch.no_grad(), torch.autocast(device.split(":")[0], torch.bfloat16, enabled=bf16):
        for i in range(repeats + 1):
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(x, t)
            if cuda:
                torch.cuda.synchronize()
            if i:
                best = min(best, time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0
    return best, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--shape", nargs=4, type=int, default=[1, 3, 256, 256])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    for name in args.presets:
        with torch.device("meta"):
            n_params = count_parameters(build_model(name))
        line = f"{name:12s} {n_params:>13,d} params"
        if not name.startswith("paper") or args.device != "cpu":
            seconds, peak = forward_seconds(name, args.shape, args.device, args.repeats, args.bf16)
            line += f"  forward {args.shape}: {seconds * 1000:9.1f} ms"
            if peak:
                line += f"  peak {peak:.2f} GiB"
        print(line, flush=True)


if __name__ == "__main__":
    main()
