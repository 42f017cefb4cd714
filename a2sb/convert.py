"""Convert the released A2SB Lightning checkpoints to the project's format, safely (SPEC 5).

An official ``.ckpt`` is a torch zip archive whose pickle holds ``state_dict`` (weights under
``vf_model.``) next to hyper-parameters and callback objects of arbitrary classes. It is read
without ever executing code from it:

1. ``torch.load(..., weights_only=True)``, torch's own restricted unpickler;
2. if that refuses some global, our restricted unpickler over the zip archive: tensor-rebuild
   functions, storage types, dtypes, ``OrderedDict`` and plain builtins are admitted; every
   other class or function becomes an inert placeholder that records its name and does nothing
   when called; globals that could run code (``os.system``, ``builtins.eval``,
   ``subprocess.Popen``, ...) are refused outright.

Only ``state_dict`` entries under ``vf_model.`` are kept; names and shapes must match the
preset's network exactly, and the result is written with ``save_checkpoint``.
"""

from __future__ import annotations

import _compat_pickle
import argparse
import builtins
import collections
import io
import json
import pickle
import re
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .checkpoint import (
    expected_shapes,
    file_sha256,
    save_checkpoint,
    shape_mismatch,
    sidecar_path,
)
from .errors import A2SBError, CheckpointError, InputError
from .network import PRESETS, resolve_config

OFFICIAL_PREFIX = "vf_model."

# Globals whose call could run code, read or write files, or import modules: refused by name.
_DANGEROUS_MODULES = frozenset(
    "os posix nt subprocess sys shutil importlib runpy socket pty ctypes code codeop pickle "
    "_pickle marshal types webbrowser multiprocessing asyncio threading _thread signal "
    "platform commands popen2 pdb bdb timeit tempfile io _io pathlib glob".split()
)
_SAFE_BUILTINS = frozenset(
    "dict list tuple set frozenset int float complex bool str bytes bytearray slice range".split()
)
_STORAGE_DTYPES: dict[str, torch.dtype] = {
    "DoubleStorage": torch.float64,
    "FloatStorage": torch.float32,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "ComplexFloatStorage": torch.complex64,
    "ComplexDoubleStorage": torch.complex128,
    "UntypedStorage": torch.uint8,
}

# Looked up in the module's dict, never through getattr (torch's lazy __getattr__ imports).
_TORCH_DTYPES = {k: v for k, v in vars(torch).items() if isinstance(v, torch.dtype)}


# ----------------------------------------------------------------------------- restricted unpickler


class Inert:
    """Stand-in for a class or function of the pickle that is never imported nor run.

    Calling it, building it or setting its state only records the arguments.
    """

    pickle_global = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> Inert:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__["_args"] = args

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_state"] = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__.setdefault("_items", {})[key] = value

    def append(self, value: Any) -> None:
        self.__dict__.setdefault("_list", []).append(value)

    def extend(self, values: Any) -> None:
        self.__dict__.setdefault("_list", []).extend(values)

    def __call__(self, *args: Any, **kwargs: Any) -> Inert:
        return Inert()

    def __repr__(self) -> str:
        return f"<inert {self.pickle_global}>"


class _StorageType:
    """What a pickled ``torch.FloatStorage`` (etc.) global resolves to: just its dtype."""

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype


def _rebuild_tensor(
    storage: torch.Tensor,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    *_ignored: Any,
) -> torch.Tensor:
    """Safe ``torch._utils._rebuild_tensor(_v2)``: a strided view of the storage's 1-D tensor."""
    if not isinstance(storage, torch.Tensor):
        raise pickle.UnpicklingError("tensor rebuilt from something that is not a storage")
    return storage.as_strided(tuple(size), tuple(stride), int(storage_offset))


def _rebuild_parameter(data: torch.Tensor, *_ignored: Any) -> torch.Tensor:
    """Safe ``torch._utils._rebuild_parameter(_with_state)``: the plain tensor."""
    return data


_SAFE_REBUILDERS = frozenset({_rebuild_tensor, _rebuild_parameter})


def _rebuild_from_type(func: Any, _new_type: Any, args: tuple, _state: Any) -> Any:
    """Safe ``torch._tensor._rebuild_from_type_v2``: only our own rebuild functions are called."""
    if func not in _SAFE_REBUILDERS:
        return Inert()
    return func(*args)


def _codecs_encode(text: str, encoding: str = "utf-8") -> bytes:
    """Protocol-2 pickles spell ``bytes`` objects as ``_codecs.encode(str, "latin1")``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise pickle.UnpicklingError("unexpected _codecs.encode arguments")
    return text.encode(encoding)


_TORCH_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("torch", "Size"): torch.Size,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): _codecs_encode,
}


class _RefusedGlobal(pickle.UnpicklingError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler of a torch zip archive's ``data.pkl`` that never imports nor runs its globals."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(io.BytesIO(data))
        self._archive = archive
        self._prefix = prefix
        self._storages: dict[str, torch.Tensor] = {}
        self._inert: dict[str, type[Inert]] = {}
        self.placeholders: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        # Protocol 0-2 pickles spell Python 3 names the Python 2 way (__builtin__, commands, ...).
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        if (module, name) in _TORCH_GLOBALS:
            return _TORCH_GLOBALS[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if module == "torch" and name in _TORCH_DTYPES:
            return _TORCH_DTYPES[name]
        if module == "builtins":
            if name in _SAFE_BUILTINS:
                return getattr(builtins, name)
            raise _RefusedGlobal(full)
        if module.split(".")[0] in _DANGEROUS_MODULES:
            raise _RefusedGlobal(full)
        if full not in self._inert:
            self._inert[full] = type(name.replace(".", "_"), (Inert,), {"pickle_global": full})
            self.placeholders.add(full)
        return self._inert[full]

    def persistent_load(self, pid: Any) -> torch.Tensor:
        """``('storage', storage_type, key, location, numel)`` -> 1-D tensor of the data file."""
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] in ("storage", b"storage")):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r:.80}")
        key = key.decode() if isinstance(key, bytes) else str(key)
        if key not in self._storages:
            self._storages[key] = self._read_storage(key, storage_type.dtype, int(numel))
        return self._storages[key]

    def _read_storage(self, key: str, dtype: torch.dtype, numel: int) -> torch.Tensor:
        name = f"{self._prefix}data/{key}"
        try:
            info = self._archive.getinfo(name)
        except KeyError:
            raise pickle.UnpicklingError(f"archive lacks {name}") from None
        itemsize = torch.empty((), dtype=dtype).element_size()
        if dtype != torch.uint8 and info.file_size < numel * itemsize:
            raise pickle.UnpicklingError(f"{name} holds {info.file_size} bytes, too few")
        raw = torch.empty(info.file_size, dtype=torch.uint8)
        view = memoryview(raw.numpy())
        with self._archive.open(info) as f:
            got = 0
            while got < info.file_size:
                n = f.readinto(view[got:])
                if not n:
                    raise pickle.UnpicklingError(f"{name} is truncated")
                got += n
        usable = info.file_size - info.file_size % itemsize
        return raw[:usable].view(dtype)


def _restricted_load(src: Path) -> tuple[Any, list[str]]:
    """Unpickle a torch zip archive without running any of its code: ``(object, placeholders)``."""
    try:
        archive = zipfile.ZipFile(src)
    except zipfile.BadZipFile:
        raise CheckpointError(f"{src}: not a zip-format torch checkpoint") from None
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise CheckpointError(f"{src}: expected one <archive>/data.pkl, found {pickles}")
        prefix = pickles[0][: -len("data.pkl")]
        order = f"{prefix}byteorder"
        if order in archive.namelist() and archive.read(order).strip() != b"little":
            raise CheckpointError(f"{src}: big-endian checkpoints are not supported")
        unpickler = RestrictedUnpickler(archive.read(pickles[0]), archive, prefix)
        try:
            obj = unpickler.load()
        except _RefusedGlobal as err:
            raise CheckpointError(
                f"{src}: refuses to unpickle global {err.name} (would execute code)"
            ) from None
        except Exception as err:
            raise CheckpointError(f"{src}: cannot unpickle ({type(err).__name__}: {err})") from None
    return obj, sorted(unpickler.placeholders)


def read_official_state_dict(src: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The ``state_dict`` of a Lightning ``.ckpt``, read without running code from it.

    Returns ``(state_dict, info)`` where ``info`` records how it was read, the inert placeholders
    used and JSON-safe Lightning metadata (epoch, global_step, version).
    """
    src = Path(src)
    if not src.is_file():
        raise CheckpointError(f"{src}: file not found")
    info: dict[str, Any] = {}
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
        info["reader"] = "torch.load(weights_only=True)"
    except pickle.UnpicklingError:
        obj, placeholders = _restricted_load(src)
        info["reader"] = "a2sb restricted unpickler"
        info["inert_globals"] = placeholders
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{src}: cannot read checkpoint ({first})") from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{src}: top level is {type(obj).__name__}, not a dict")
    state = obj.get("state_dict", obj)
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{src}: state_dict is {type(state).__name__}, not a dict")
    for key in ("epoch", "global_step", "pytorch-lightning_version"):
        if isinstance(obj.get(key), int | float | str):
            info[key] = obj[key]
    return dict(state), info


def t_range_from_name(name: str) -> tuple[float, float]:
    """``A2SB_twosplit_0.5_1.0_release.ckpt -> (0.5, 1.0)``; ``(0.0, 1.0)`` when none is named."""
    found = (0.0, 1.0)
    for m in re.finditer(r"(?<![\d.])(\d+(?:\.\d+)?)_(\d+(?:\.\d+)?)(?![\d.])", Path(name).stem):
        lo, hi = float(m.group(1)), float(m.group(2))
        if 0.0 <= lo < hi <= 1.0:
            found = (lo, hi)
    return found


def _default_stft_config() -> dict[str, Any]:
    from .representation import STFTConfig

    return STFTConfig().to_dict()


def convert_official_checkpoint(
    src: str | Path,
    dst: str | Path,
    preset: str = "paper",
    stft_config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Convert an official Lightning checkpoint to ``dst`` (.safetensors + .json); return the sidecar.

    The t-range comes from the source name (``..._0.5_1.0_release.ckpt``), else [0, 1];
    ``stft_config`` defaults to the paper's. Nothing is written unless every ``vf_model.``
    weight matches the preset's network in name and shape.
    """
    src, dst = Path(src), Path(dst)
    config = resolve_config(preset)
    state, info = read_official_state_dict(src)
    weights = {
        k[len(OFFICIAL_PREFIX) :]: v
        for k, v in state.items()
        if k.startswith(OFFICIAL_PREFIX) and isinstance(v, torch.Tensor)
    }
    ignored = sorted(k for k in state if not k.startswith(OFFICIAL_PREFIX))
    if not weights:
        raise CheckpointError(f"{src}: no state_dict entries under {OFFICIAL_PREFIX!r}")
    problem = shape_mismatch(expected_shapes(config), {k: v.shape for k, v in weights.items()})
    if problem:
        raise CheckpointError(f"{src}: does not match preset {preset!r}: {problem}")
    extra = {
        "converted_from": src.name,
        "source_sha256": file_sha256(src),
        "preset": preset,
        "ignored_state_dict_keys": ignored[:20],
        "num_ignored_state_dict_keys": len(ignored),
        **info,
    }
    existed = {p: p.exists() for p in (dst, sidecar_path(dst))}
    try:
        return save_checkpoint(
            dst,
            weights,
            config.to_dict(),
            dict(stft_config) if stft_config is not None else _default_stft_config(),
            t_range=t_range_from_name(src.name),
            extra=extra,
        )
    except BaseException:
        for path, was_there in existed.items():
            if not was_there:
                path.unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------------------- CLI


def read_stft_config(spec: str) -> dict[str, Any]:
    """``--stft-config``: a JSON file or inline JSON object -> a checked STFT config dict."""
    from .representation import STFTConfig

    path = Path(spec)
    where = str(path) if path.is_file() else "--stft-config"
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else spec
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{where}: neither a JSON file nor inline JSON ({err})") from None
    if not isinstance(data, dict):
        raise InputError(
            f"{where}: an STFT config must be a JSON object, got {type(data).__name__}"
        )
    try:
        return STFTConfig.from_dict(data).to_dict()
    except (TypeError, ValueError) as err:
        raise InputError(f"{where}: invalid STFT config ({err})") from None


def convert_main(args: argparse.Namespace) -> int:
    """``a2sb convert-checkpoint OFFICIAL.ckpt OUT.safetensors [--preset paper]
    [--stft-config JSON]``: exit code."""
    try:
        stft = read_stft_config(args.stft_config) if args.stft_config is not None else None
        sidecar = convert_official_checkpoint(
            args.src, args.dst, preset=args.preset, stft_config=stft
        )
    except (A2SBError, OSError, ValueError) as err:
        print(f"a2sb: error: {err}", file=sys.stderr)
        return 2
    lo, hi = sidecar["t_range"]
    print(f"wrote {args.dst} (t in [{lo}, {hi}], sha256 {sidecar['sha256'][:16]}...)")
    return 0


def register_cli(subparsers: Any) -> None:
    """Add the ``convert-checkpoint`` sub-command to an argparse sub-parser collection."""
    p = subparsers.add_parser(
        "convert-checkpoint",
        help="convert a released A2SB Lightning .ckpt to .safetensors + .json (no code runs)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("src", metavar="OFFICIAL.ckpt", help="official Lightning checkpoint")
    p.add_argument("dst", metavar="OUT.safetensors", help="output weights (sidecar: OUT.json)")
    p.add_argument(
        "--preset", default="paper", choices=sorted(PRESETS), help="network preset (default paper)"
    )
    p.add_argument(
        "--stft-config",
        metavar="JSON",
        help="STFT of the sidecar: a JSON file or inline JSON (default: the paper's, as released)",
    )
    p.set_defaults(func=convert_main)
