#!/usr/bin/env bash
# The scale-out benchmarks of server/README.md ("Benchmarks"): `cohort bench-fanout`
# (100 members, 200 messages) and `cohort bench-commits` (1,000 groups, 20 clients) against
# SQLite with one instance, PostgreSQL with one instance and PostgreSQL with three. Every
# cohort-server is its own process, over plain HTTP on loopback; PostgreSQL is a throwaway
# cluster (.ci/postgres) switched to fsync=on, since the test cluster's fsync=off would
# flatter it against SQLite's synchronous=FULL. The server's fsyncs per commit are counted
# with strace (SQLite) and pg_stat_wal (PostgreSQL).
#
#   server/bench/instances.sh [sqlite] [pg1] [pg3]     # default: all three
#   NMEMBERS=100 NMESSAGES=200 NGROUPS=1000 NCLIENTS=20 server/bench/instances.sh pg3
set -euo pipefail
cd "$(dirname "$0")/../.."
NMEMBERS=${NMEMBERS:-100}
NMESSAGES=${NMESSAGES:-200}
NGROUPS=${NGROUPS:-1000}
NCLIENTS=${NCLIENTS:-20}
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(sqlite pg1 pg3)

cargo build --release -q -p cohort-server -p cohort-cli
bin=$PWD/target/release
work=$(mktemp -d)
# Beside $work, not in it: the cluster's owner (postgres, when run as root) cannot enter $work.
pgdir=$(mktemp -u "${TMPDIR:-/tmp}/cohort-bench-pg.XXXXXX")
pids=()
pg=""
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "$pg" ]; then .ci/postgres stop "$pgdir" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Benchmarks make many requests a second per client; the defaults are for people.
limits=(--open --requests-per-second 1000000 --request-burst 1000000
    --messages-per-minute 1000000 --max-groups-per-client 1000000)

# start_server NAME STORE-ARGS...: sets $url.
start_server() {
    local name=$1 port
    shift
    port=$(free_port)
    COHORT_ADMIN_TOKEN=bench "$bin/cohort-server" --listen "127.0.0.1:$port" "${limits[@]}" "$@" \
        >"$work/$name.out" 2>"$work/$name.log" &
    pids+=($!)
    for _ in $(seq 200); do
        if curl -sf "http://127.0.0.1:$port/v1/ready" >/dev/null; then
            url="http://127.0.0.1:$port"
            return
        fi
        sleep 0.1
    done
    echo "cohort-server $name did not start:" >&2
    cat "$work/$name.log" >&2
    exit 1
}

stop_servers() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
}

pg_stat() { # DB: "transactions wal_syncs"
    sleep 1 # statistics are flushed about once a second
    psql -qtA "$pgbase/postgres" -c \
        "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = '$1') || ' ' || (SELECT wal_sync FROM pg_stat_wal)"
}

run_benches() { # CONFIG SERVERS [DB]
    local config=$1 servers=$2 db=${3:-} before after
    echo "=== $config: bench-fanout --members $NMEMBERS --messages $NMESSAGES"
    "$bin/cohort" bench-fanout --members "$NMEMBERS" --messages "$NMESSAGES" --servers "$servers"
    echo "=== $config: bench-commits --groups $NGROUPS --clients $NCLIENTS"
    if [ -n "$db" ]; then
        before=$(pg_stat "$db")
        "$bin/cohort" bench-commits --groups "$NGROUPS" --clients "$NCLIENTS" --servers "$servers"
        after=$(pg_stat "$db")
        python3 - "$before" "$after" "$NGROUPS" <<'PY'
import sys
b, a, n = sys.argv[1].split(), sys.argv[2].split(), int(sys.argv[3])
print(f"server side, whole commit phase and its set-up: "
      f"{(int(a[0]) - int(b[0])) / n:.1f} PostgreSQL transactions and "
      f"{(int(a[1]) - int(b[1])) / n:.2f} WAL fsyncs per group")
PY
    else
        "$bin/cohort" bench-commits --groups "$NGROUPS" --clients "$NCLIENTS" --servers "$servers"
    fi
}

for config in "${configs[@]}"; do
    case "$config" in
    sqlite)
        start_server sqlite --db "$work/sqlite.db"
        pid=${pids[-1]}
        strace -f -qq -c -e trace=fsync,fdatasync -o "$work/strace.txt" -p "$pid" &
        tracer=$!
        sleep 0.5
        run_benches sqlite "$url"
        kill -INT "$tracer" 2>/dev/null || true
        wait "$tracer" 2>/dev/null || true
        echo "server fsync/fdatasync calls during both benchmarks (strace -c):"
        cat "$work/strace.txt"
        stop_servers
        ;;
    pg1 | pg3)
        if [ -z "$pg" ]; then
            pg=$(.ci/postgres start "$pgdir")
            pgbase=${pg%/*}
            psql -qtA "$pg" -c "ALTER SYSTEM SET fsync = on" >/dev/null
            .ci/postgres pause "$pgdir" >/dev/null
            .ci/postgres resume "$pgdir" >/dev/null
            echo "PostgreSQL: $(psql -qtA "$pg" -c 'SHOW server_version'), fsync $(psql -qtA "$pg" -c 'SHOW fsync')"
        fi
        n=${config#pg}
        db=bench_$config
        psql -qtA "$pg" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
        servers=""
        for i in $(seq "$n"); do
            start_server "$config-$i" --database "$pgbase/$db" --ca-key "$work/$db-ca.pem"
            servers="${servers:+$servers,}$url"
        done
        run_benches "$config" "$servers" "$db"
        stop_servers
        ;;
    *)
        echo "unknown configuration $config (sqlite, pg1, pg3)" >&2
        exit 2
        ;;
    esac
done
