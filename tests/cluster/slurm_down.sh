#!/usr/bin/env bash
# Stop the daemons tests/cluster/slurm_up.sh DIR started (slurmd, slurmctld, munged), by pid.
set -uo pipefail
dir=$(realpath -m "${1:?usage: slurm_down.sh DIR}")
for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
  [[ -f "$pidfile" ]] || continue
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
done
echo "slurm down: $dir"
