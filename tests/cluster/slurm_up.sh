#!/usr/bin/env bash
# Start a single-node SLURM cluster for the tests, as root, in its own folder:
#   tests/cluster/slurm_up.sh DIR      then   export SLURM_CONF=DIR/slurm.conf PATH=DIR/bin:$PATH
# SLURM_UP_CPUS=N declares N CPUs on the node (default: this host's; more than it has lets
# light jobs share the cores, as on an oversubscribed partition).
# Installs the Debian packages if missing (slurmctld, slurmd, slurm-client, munge), writes a
# slurm.conf for this host (its CPUs and memory, no accounting, proctrack/linuxproc,
# task/none), starts munged, slurmctld and slurmd with every file under DIR, and waits until
# the node is idle. tests/cluster/slurm_down.sh DIR stops exactly these daemons (by pid).
# On failure it prints the daemons' logs and exits non-zero.
set -euo pipefail
dir=$(realpath -m "${1:?usage: slurm_up.sh DIR}")
mkdir -p "$dir"/{state,spool,log,munge}
chmod 700 "$dir/munge"

need=()
for bin in slurmctld slurmd sbatch munged; do command -v "$bin" >/dev/null || need+=("$bin"); done
if ((${#need[@]})); then
  echo "installing slurm and munge (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >"$dir/log/apt.log" 2>&1 \
    || { apt-get update >>"$dir/log/apt.log" 2>&1 && apt-get install -y --no-install-recommends \
           slurmctld slurmd slurm-client munge >>"$dir/log/apt.log" 2>&1; } \
    || { cat "$dir/log/apt.log"; exit 1; }
fi

host=$(hostname -s)
cpus=${SLURM_UP_CPUS:-$(nproc)}
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
port=$(( 20000 + (RANDOM % 20000) ))

# munge: its own key, socket and pid file
if [[ ! -f "$dir/munge/munge.key" ]]; then
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
fi
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munge/munge.seed"

cat >"$dir/slurm.conf" <<CONF
ClusterName=a2sbtest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
MinJobAge=300
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
# a cgroup.conf of our own keeps slurmd from looking for the system's
echo "CgroupAutomount=no" >"$dir/cgroup.conf"

# Client shims: snakemake-executor-plugin-slurm-jobstep drops every SLURM_* variable (SLURM_CONF
# included) before its nested srun, which then cannot find a config outside /etc/slurm. Commands
# in DIR/bin set SLURM_CONF themselves; put DIR/bin first on PATH (nothing under /etc changes).
mkdir -p "$dir/bin"
for cmd in srun sbatch squeue scancel sinfo scontrol sacct; do
  real=$(command -v "$cmd" || true)
  [[ -n "$real" && "$real" != "$dir/bin/$cmd" ]] || continue
  printf '#!/bin/sh\nSLURM_CONF=%s exec %s "$@"\n' "$dir/slurm.conf" "$real" >"$dir/bin/$cmd"
  chmod +x "$dir/bin/$cmd"
done

export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

for _ in $(seq 1 90); do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
  if [[ "$state" == idle* ]]; then
    echo "slurm up: node $host idle ($cpus CPUs, $mem_mb MB), SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 1
done
echo "slurm_up: node $host did not become idle (state: ${state:-none})" >&2
for f in "$dir"/log/*.log; do echo "== $f" >&2; tail -n 40 "$f" >&2; done
exit 1
