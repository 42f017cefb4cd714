"""Save and restore what Snakemake needs to see a pulled run as up to date.

A DVC pull gives a fresh clone every output of a recorded run, but with new modification times
(the order of a pull, not of the run) and without Snakemake's own records (``.snakemake/metadata``:
each output's rule, params, input list and code, which the params, input and code rerun triggers
compare). Without them Snakemake would either rerun jobs whose inputs look newer, or miss a
changed setting. ``save`` writes both for one profile to ``records/<profile>/run_state.json``
(committed to git beside ``dvc.lock``); ``restore`` puts them back after ``dvc pull``:

    python workflow/scripts/run_state.py save --profile ci
    python workflow/scripts/run_state.py restore --profile ci

``restore`` checks that every recorded file is present (a partial pull is named, nothing changed),
then writes the metadata records and sets each file's and folder's recorded mtime. Snakemake then
reports nothing to do, and a changed setting reruns exactly the jobs whose params changed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

FORMAT = "a2sb-run-state/1"
METADATA = Path(".snakemake/metadata")
INCOMPLETE = Path(".snakemake/incomplete")


def roots(profile: str) -> list[Path]:
    """The folders a profile's run writes (its results and logs)."""
    return [Path("results") / profile, Path("logs") / profile]


def record_id(record: Path, base: Path) -> str:
    """The output path a Snakemake metadata file stands for: the urlsafe base64 of the path,
    split into ``@``-prefixed components when longer than a file name may be."""
    parts = record.relative_to(base).parts
    return base64.urlsafe_b64decode("".join(p.lstrip("@") for p in parts)).decode()


def record_path(output: str, base: Path, max_len: int = 255) -> Path:
    """Inverse of :func:`record_id` (Snakemake's file persistence layout)."""
    b64 = base64.urlsafe_b64encode(output.encode()).decode()
    chunks = [b64[i : i + max_len - 1] for i in range(0, len(b64), max_len - 1)]
    return base.joinpath(*["@" + c for c in chunks[:-1]], chunks[-1])


def walk(folder: Path) -> Iterator[Path]:
    """Every file and folder below ``folder`` (hidden ones included), folders after their content."""
    for dirpath, _dirnames, filenames in os.walk(folder, topdown=False):
        for name in sorted(filenames):
            yield Path(dirpath) / name
        yield Path(dirpath)


def under(path: str, folders: list[Path]) -> bool:
    return any(Path(path) == f or f in Path(path).parents for f in folders)


def metadata_records(folders: list[Path]) -> dict[str, dict]:
    """Snakemake's metadata record of every output below ``folders``."""
    records = {}
    if not METADATA.is_dir():
        return records
    for file in METADATA.rglob("*"):
        if not file.is_file():
            continue
        try:
            output = record_id(file, METADATA)
        except (ValueError, UnicodeDecodeError):
            continue
        if under(output, folders):
            records[output] = json.loads(file.read_text())
    return records


def incomplete_outputs(folders: list[Path]) -> list[str]:
    if not INCOMPLETE.is_dir():
        return []
    found = []
    for file in INCOMPLETE.rglob("*"):
        try:
            output = record_id(file, INCOMPLETE) if file.is_file() else None
        except (ValueError, UnicodeDecodeError):
            continue
        if output and under(output, folders):
            found.append(output)
    return sorted(found)


def save(profile: str, out: Path) -> dict:
    """Write the run state of ``profile`` to ``out`` (atomically); returns it."""
    folders = [f for f in roots(profile) if f.is_dir()]
    if not folders:
        raise SystemExit(f"run_state: error: results/{profile}: no run to record")
    unfinished = incomplete_outputs(folders)
    if unfinished:
        raise SystemExit(
            f"run_state: error: {unfinished[0]}: incomplete ({len(unfinished)} outputs); "
            "finish the run first"
        )
    paths = [p for f in folders for p in walk(f)]
    mtimes = {str(p): p.lstat().st_mtime_ns for p in paths}
    dirs = [str(p) for p in paths if p.is_dir() and not p.is_symlink()]
    records = metadata_records(folders)
    state = {"format": FORMAT, "profile": profile, "mtime_ns": mtimes, "dirs": dirs,
             "metadata": records}  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, out)
    return state


def restore(state_file: Path) -> tuple[int, int]:
    """Put a saved run state back; returns (metadata records, paths given their mtime)."""
    try:
        state = json.loads(state_file.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise SystemExit(f"run_state: error: {state_file}: unreadable run state ({err})") from None
    if state.get("format") != FORMAT:
        raise SystemExit(f"run_state: error: {state_file}: not an {FORMAT} file")
    for folder in state["dirs"]:  # DVC does not version empty folders
        os.makedirs(folder, exist_ok=True)
    missing = [p for p in state["mtime_ns"] if not os.path.lexists(p)]
    if missing:
        raise SystemExit(
            f"run_state: error: {missing[0]}: missing ({len(missing)} recorded paths); "
            "run `dvc pull` for this profile first"
        )
    for output, record in state["metadata"].items():
        path = record_path(output, METADATA)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))
    # files first, then folders deepest first (as saved): a folder's mtime is set last
    for path, mtime in state["mtime_ns"].items():
        os.utime(path, ns=(mtime, mtime), follow_symlinks=False)
    return len(state["metadata"]), len(state["mtime_ns"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_state.py", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["save", "restore"])
    parser.add_argument("--profile", required=True, help="the profile's name (results/<profile>)")
    parser.add_argument("--file", type=Path, help="default: records/<profile>/run_state.json")
    args = parser.parse_args(argv)
    state_file = args.file or Path("records") / args.profile / "run_state.json"
    if args.action == "save":
        state = save(args.profile, state_file)
        print(f"run_state: {state_file}: {len(state['metadata'])} metadata records, "
              f"{len(state['mtime_ns'])} paths")  # fmt: skip
    else:
        records, paths = restore(state_file)
        print(f"run_state: restored {records} metadata records and {paths} mtimes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
