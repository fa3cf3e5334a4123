#!/usr/bin/env bash
# Stop what tests/engines/slurm_up.sh DIR started, by its pid files (munged is left running).
DIR=$(realpath -m "$1")
PIDS="$DIR/run/slurmd.pid $DIR/run/slurmctld.pid $DIR/run/slurmdbd.pid /run/mysqld/skopt-test.pid"
for pid_file in $PIDS; do
    [ -s "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null
done
for pid_file in $PIDS; do  # wait (bounded) for each to go
    for _ in $(seq 50); do
        [ -s "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null || break
        sleep 0.1
    done
done
exit 0
