"""AudioSR runner: executed by the AudioSR environment's python, not by the project's.

Self-contained (imports only the standard library, numpy, soundfile and ``audiosr``). Loads the
published model once from a local weights file, then serves requests as JSON lines:

    stdin:  {"input": "in.wav", "output": "out.wav", "seed": 42}
    stdout: {"ready": true} once, then {"ok": true, "samples": N} or {"ok": false, "error": "..."}

The input must be a mono 48 kHz wav; the output is a mono float32 48 kHz wav trimmed to the
input's length. Everything the library prints goes to stderr (stdout carries only the protocol).

The audiosr 0.0.7 API, as read in its source (audiosr/pipeline.py, audiosr/utils.py of the
0.0.7 wheel on PyPI; github.com/haoheliu/versatile_audio_super_resolution):

- ``audiosr.build_model(ckpt_path=None, config=None, device=None, model_name="basic")`` ignores
  ``ckpt_path`` and calls ``audiosr.pipeline.download_checkpoint(model_name)``, which fetches
  ``pytorch_model.bin`` from the Hugging Face repository ``haoheliu/audiosr_basic`` (or
  ``haoheliu/audiosr_speech``); it then builds ``LatentDiffusion`` from the built-in config and
  loads ``torch.load(path)["state_dict"]``. We replace ``download_checkpoint`` in
  ``audiosr.pipeline`` by a function returning the local path (no network is touched).
- ``audiosr.super_resolution(model, input_file, seed=42, ddim_steps=200, guidance_scale=3.5,
  latent_t_per_second=12.8)`` reads the file with torchaudio, resamples to 48 kHz, keeps the
  first channel, removes the mean, scales the peak to 0.5, zero-pads to a multiple of 5.12 s,
  runs DDIM with classifier-free guidance, replaces the output's band below the input's
  estimated cutoff by the input's, and returns a numpy array ``[batch, 1, samples]`` at 48 kHz
  with peak 0.5 and zero mean (the command line trims it to the input's duration with ffmpeg;
  we trim here). The package's own command line uses ``ddim_steps=50``, ``guidance_scale=3.5``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

RATE = 48000


def _protocol_stream():  # noqa: ANN202
    """Keep fd 1 for the protocol; send everything else written to stdout to stderr."""
    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def build(weights: str, model_name: str, device: str):  # noqa: ANN201
    import audiosr
    import audiosr.pipeline as pipeline

    pipeline.download_checkpoint = lambda checkpoint_name="basic": weights
    return audiosr.build_model(model_name=model_name, device=device)


def run_one(model, request: dict, args: argparse.Namespace) -> dict:  # noqa: ANN001
    import numpy as np
    import soundfile as sf
    from audiosr import super_resolution

    info = sf.info(request["input"])
    if info.samplerate != RATE or info.channels != 1:
        return {
            "ok": False,
            "error": f"input must be mono {RATE} Hz, got {info.channels} ch {info.samplerate} Hz",
        }
    out = super_resolution(
        model,
        request["input"],
        seed=int(request.get("seed", args.seed)),
        ddim_steps=args.ddim_steps,
        guidance_scale=args.guidance_scale,
        latent_t_per_second=12.8,
    )
    wave = np.asarray(out, dtype=np.float32).reshape(-1)[: info.frames]
    wave = np.pad(wave, (0, info.frames - len(wave)))
    sf.write(request["output"], wave, RATE, subtype="FLOAT")
    return {"ok": True, "samples": int(len(wave))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="AudioSR super-resolution server (JSON lines)")
    parser.add_argument("--weights", required=True, help="local pytorch_model.bin of audiosr_basic")
    parser.add_argument("--model-name", default="basic", choices=["basic", "speech"])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    parser.add_argument("--ddim-steps", type=int, default=50)
    parser.add_argument("--guidance-scale", type=float, default=3.5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    proto = _protocol_stream()
    try:
        if args.threads > 0:
            import torch

            torch.set_num_threads(args.threads)
        model = build(args.weights, args.model_name, args.device)
    except Exception as exc:  # report why, then exit
        traceback.print_exc()
        proto.write(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")
        return 1
    proto.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = run_one(model, json.loads(line), args)
        except Exception as exc:
            traceback.print_exc()
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        proto.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
