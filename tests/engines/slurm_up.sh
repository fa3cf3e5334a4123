#!/usr/bin/env bash
# Bring up a one-node SLURM with accounting on this machine, as root, without systemd:
#   tests/engines/slurm_up.sh DIR      (DIR gets slurm.conf, slurmdbd.conf, logs, pids, spool)
# Installs Debian's packages first when slurmctld is missing. Prints the SLURM_CONF to export.
# Stop it with tests/engines/slurm_down.sh DIR.
set -euo pipefail
DIR=$(realpath -m "$1")
mkdir -p "$DIR"/{log,spool/ctld,spool/d,run}
if ! command -v slurmctld >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "slurm_up: not installed and not root: cannot install" >&2; exit 2; }
    # the packages' init scripts must start nothing (no systemd here; the script starts the daemons)
    [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client slurmdbd munge mariadb-server >/dev/null
fi
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))

cat > "$DIR/slurm.conf" <<CONF
ClusterName=skopt
SlurmctldHost=$HOST
SlurmUser=root
SlurmctldPort=$((6817 + 0))
SlurmdPort=6818
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
KillWait=5
MinJobAge=30
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF

cat > "$DIR/slurmdbd.conf" <<CONF
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=skopt_slurm_acct
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
CONF
chmod 600 "$DIR/slurmdbd.conf"
export SLURM_CONF="$DIR/slurm.conf"

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local deadline=$(( $(date +%s) + $1 )) what=$2; shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "slurm_up: $what did not come up; logs in $DIR/log" >&2; exit 1; }
        sleep 0.3
    done
}

[ -s /etc/munge/munge.key ] || mungekey -c
mkdir -p /run/munge /var/log/munge && chown munge:munge /run/munge /var/log/munge
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
wait_for 10 munged munge -n

# mariadbd runs as mysql, which cannot reach a private DIR: its pid and log live in /run/mysqld
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
if ! pgrep -x mariadbd >/dev/null; then
    /usr/sbin/mariadbd --user=mysql --skip-networking --socket=/run/mysqld/mysqld.sock \
        --pid-file=/run/mysqld/skopt-test.pid --log-error=/run/mysqld/skopt-test.log >/dev/null 2>&1 &
fi
wait_for 60 "mariadb (log: /run/mysqld/skopt-test.log)" mariadb -e "select 1"

/usr/sbin/slurmdbd  # reads slurmdbd.conf beside $SLURM_CONF
wait_for 30 slurmdbd sacctmgr -n list cluster
/usr/sbin/slurmctld -f "$DIR/slurm.conf"
/usr/sbin/slurmd -f "$DIR/slurm.conf"
wait_for 30 "the node" bash -c "sinfo -h -o %t | grep -qx idle"
echo "SLURM_CONF=$DIR/slurm.conf"
