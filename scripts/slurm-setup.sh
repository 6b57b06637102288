#!/usr/bin/env bash
# A real one-node Slurm on this machine, for the sweep's Slurm test (test/sweep.slurm.test.ts) and for trying the
# `slurm` backend without a cluster. Installs Debian's slurm-wlm and munge, creates a munge key if there is none,
# writes a one-node configuration on 127.0.0.1 (the machine's real CPUs and memory, one partition, no cgroups and no
# accounting, so it runs in a container without systemd), starts munged, slurmctld and slurmd as daemons, and waits
# until a trivial `sbatch --wait` job has run. Safe to re-run: daemons already answering are left as they are.
# Needs root (or sudo) for apt-get and the daemons. TINYMEM_SLURM_FORCE_CONF=1 rewrites an existing slurm.conf.
set -euo pipefail

say() { echo "[slurm setup] $*"; }
fail() { echo "[slurm setup] error: $*" >&2; exit 1; }
# shellcheck source=test/aptInstall.sh
. "$(dirname "$0")/../test/aptInstall.sh"

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "need root (or sudo) to install and start Slurm's daemons"
  SUDO="sudo"
fi

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
STATE=/var/spool/slurmctld
SPOOL=/var/spool/slurmd
LOG_DIR=/var/log/slurm
RUN_DIR=/run/slurm

# --- packages -------------------------------------------------------------------------------------------------
need_apt=()
command -v munged >/dev/null 2>&1 || need_apt+=(munge)
command -v slurmctld >/dev/null 2>&1 || need_apt+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || need_apt+=(slurmd)
command -v sbatch >/dev/null 2>&1 || need_apt+=(slurm-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  # slurm-wlm is Debian's metapackage of the three (and the plugins); the daemons are started below, not by apt.
  if ! dpkg -s slurm-wlm >/dev/null 2>&1; then need_apt+=(slurm-wlm); fi
  apt_install "${need_apt[@]}" || fail "apt-get install ${need_apt[*]} failed (see above)"
else
  say "packages present (munge, slurmctld, slurmd, slurm-client)"
fi

# --- munge ----------------------------------------------------------------------------------------------------
MUNGE_KEY=/etc/munge/munge.key
MUNGE_SOCKET=/run/munge/munge.socket.2
munge_user=munge
id -u munge >/dev/null 2>&1 || munge_user=root
if ! $SUDO test -s "$MUNGE_KEY"; then
  say "creating the munge key $MUNGE_KEY"
  $SUDO mkdir -p /etc/munge
  if command -v mungekey >/dev/null 2>&1; then
    $SUDO mungekey --create --keyfile="$MUNGE_KEY" --force
  else
    $SUDO dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
  fi
fi
$SUDO mkdir -p /run/munge /var/lib/munge /var/log/munge
$SUDO chown "$munge_user:" /etc/munge "$MUNGE_KEY" /run/munge /var/lib/munge /var/log/munge
$SUDO chmod 0700 /etc/munge /var/lib/munge /var/log/munge
$SUDO chmod 0755 /run/munge
$SUDO chmod 0400 "$MUNGE_KEY"
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged running"
else
  say "starting munged (as $munge_user)"
  $SUDO rm -f "$MUNGE_SOCKET"
  if [ "$munge_user" = root ]; then
    $SUDO munged --force
  else
    $SUDO runuser -u munge -- munged
  fi
  for _ in $(seq 1 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
  munge -n | unmunge >/dev/null || fail "munged did not start (see /var/log/munge/munged.log)"
fi

# --- configuration --------------------------------------------------------------------------------------------
node_name="$(hostname -s)"
if [ -s "$CONF" ] && ! grep -q '^# tinymem one-node' "$CONF" && [ "${TINYMEM_SLURM_FORCE_CONF:-}" != 1 ]; then
  fail "$CONF exists and was not written by this script; leave it, or set TINYMEM_SLURM_FORCE_CONF=1 to replace it"
fi
# slurmd -C prints this machine's node line: "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2
# ThreadsPerCore=1 RealMemory=24105". Keep its topology (a node configured with more than it has is drained) and
# hold a little memory back, so that a node reporting slightly less later is not drained either.
hw="$(slurmd -C | head -1)" || fail "slurmd -C failed"
field() { echo "$hw" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
cpus="$(field CPUs)"
mem="$(field RealMemory)"
[ -n "$cpus" ] && [ -n "$mem" ] || fail "could not read CPUs and RealMemory from: $hw"
mem=$((mem * 95 / 100))
topology="$(echo "$hw" | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' |
  tr '\n' ' ')"
conf_text="$(cat <<EOF
# tinymem one-node Slurm (scripts/slurm-setup.sh): everything on 127.0.0.1, no cgroups, no accounting.
ClusterName=tinymem
SlurmctldHost=$node_name(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1024
ReturnToService=2
StateSaveLocation=$STATE
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
SchedulerParameters=batch_sched_delay=1,sched_min_interval=100000
MinJobAge=600
KillWait=5
InactiveLimit=0
NodeName=$node_name NodeAddr=127.0.0.1 ${topology}RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node_name Default=YES MaxTime=INFINITE State=UP
EOF
)"
conf_changed=0
if [ "$($SUDO cat "$CONF" 2>/dev/null || true)" = "$conf_text" ]; then
  say "$CONF up to date (node $node_name on 127.0.0.1, $cpus CPUs, ${mem} MB)"
else
  say "writing $CONF: node $node_name on 127.0.0.1, $cpus CPUs, ${mem} MB"
  $SUDO mkdir -p "$CONF_DIR"
  echo "$conf_text" | $SUDO tee "$CONF" >/dev/null
  conf_changed=1
fi
$SUDO mkdir -p "$STATE" "$SPOOL" "$LOG_DIR" "$RUN_DIR"

# --- daemons --------------------------------------------------------------------------------------------------
# A daemon counts as running when its pid file names a live process of that name.
running() {
  local pid
  pid="$($SUDO cat "$RUN_DIR/$1.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$1" ]
}
if running slurmctld; then
  say "slurmctld running"
  if [ "$conf_changed" = 1 ]; then say "scontrol reconfigure (new $CONF)"; $SUDO scontrol reconfigure || true; fi
else
  say "starting slurmctld (log $LOG_DIR/slurmctld.log)"
  $SUDO slurmctld || fail "slurmctld did not start; see $LOG_DIR/slurmctld.log"
fi
for _ in $(seq 1 30); do scontrol ping >/dev/null 2>&1 && break; sleep 1; done
scontrol ping >/dev/null 2>&1 || fail "slurmctld does not answer scontrol ping; see $LOG_DIR/slurmctld.log"
if running slurmd; then
  say "slurmd running"
else
  say "starting slurmd (log $LOG_DIR/slurmd.log)"
  $SUDO slurmd -N "$node_name" || fail "slurmd did not start; see $LOG_DIR/slurmd.log"
fi

# --- wait for the node, then a trivial job --------------------------------------------------------------------
state=""
for _ in $(seq 1 60); do
  state="$(sinfo --noheader --nodes="$node_name" --format=%t 2>/dev/null | head -1 || true)"
  case "$state" in idle | mix | alloc) break ;; esac
  # A node left down or drained by an earlier run (a restart, a changed configuration) is put back in service.
  case "$state" in down* | drain* | drng* | fail*)
    $SUDO scontrol update nodename="$node_name" state=resume 2>/dev/null || true ;;
  esac
  sleep 1
done
case "$state" in
  idle | mix | alloc) say "node $node_name is $state" ;;
  *) fail "node $node_name did not come up (state '${state:-unknown}'); see $LOG_DIR/slurmd.log and slurmctld.log" ;;
esac
probe_dir="$(mktemp -d)"
if ! out="$(timeout 120 sbatch --wait --parsable --job-name=tinymem-setup-probe --time=1 \
  --output="$probe_dir/probe.out" --wrap='hostname' 2>&1)"; then
  fail "the probe job (sbatch --wait --wrap hostname) did not complete: $out"
fi
say "probe job $out ran on $(cat "$probe_dir/probe.out" 2>/dev/null || echo '?')"
rm -rf "$probe_dir"
say "done: Slurm is up (sinfo, squeue, sbatch work; no accounting, so no sacct)"
