#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis for the scale-path tests (tests/scale/).
#
#   scripts/services.sh start   # start both (installing Debian's packages if missing), print exports
#   scripts/services.sh env     # print the exports of the running pair
#   scripts/services.sh stop    # stop both and remove their temp dirs
#
# stdout carries only shell lines meant for `eval "$(scripts/services.sh start)"`:
#   export SCALE_DATABASE_URL=postgres://callboard@127.0.0.1:PORT/postgres
#   export SCALE_REDIS_URL=redis://127.0.0.1:PORT/0
# Everything else goes to stderr. It fails softly: when the services cannot be installed
# or started it says why and prints `export SCALE_SKIP_REASON=...` instead (exit 0), so
# the scale tests are reported as skipped with that reason, never passed silently.
# Both listen on 127.0.0.1 only, on free ports, with no persistence; starting twice reuses
# the running pair, stopping twice is harmless.
#
# Knobs (all optional): SCALE_SERVICES=off (skip on purpose), SCALE_SERVICES_DIR (where the
# pair keeps its state), SCALE_PG_BIN (PostgreSQL's bin dir), SCALE_REDIS_SERVER (binary).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${SCALE_SERVICES_DIR:-/tmp/callboard-scale-$(id -u)-$(printf %s "$ROOT" | cksum | cut -d' ' -f1)}"
ENV_FILE="$STATE/env.sh"
PG_USER=callboard          # the database role (superuser of the throwaway cluster, trust auth)
RUN_AS=""                  # the system user that runs postgres when we are root

say() { printf 'services.sh: %s\n' "$*" >&2; }

skip() {  # the soft failure: a reason for the tests, exit 0
    local reason="scale services unavailable: $*"
    say "$reason"
    stop_services quiet
    printf 'unset SCALE_DATABASE_URL SCALE_REDIS_URL\n'
    printf 'export SCALE_SKIP_REASON=%q\n' "$reason"
    exit 0
}

pg_bin() {
    if [[ -n "${SCALE_PG_BIN:-}" ]]; then
        [[ -x "$SCALE_PG_BIN/initdb" && -x "$SCALE_PG_BIN/pg_ctl" ]] && echo "$SCALE_PG_BIN"
        return
    fi
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]] && { echo "$dir"; return; }
    done
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(readlink -f "$(command -v initdb)")"
    fi
}

redis_bin() {
    if [[ -n "${SCALE_REDIS_SERVER:-}" ]]; then
        [[ -x "$SCALE_REDIS_SERVER" ]] && echo "$SCALE_REDIS_SERVER"
        return
    fi
    local found
    for found in "$(command -v redis-server)" /usr/bin/redis-server; do
        [[ -n "$found" && -f "$found" && -x "$found" ]] && { echo "$found"; return; }
    done
}

as_root() {  # run a command as root, directly or through passwordless sudo
    if [[ $(id -u) -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
    else return 77
    fi
}

install_missing() {
    local packages=()
    [[ -n "$(pg_bin)" ]] || packages+=(postgresql)
    [[ -n "$(redis_bin)" ]] || packages+=(redis-server)
    [[ ${#packages[@]} -eq 0 ]] && return 0
    if [[ -n "${SCALE_PG_BIN:-}${SCALE_REDIS_SERVER:-}" ]]; then
        skip "${packages[*]} not found where SCALE_PG_BIN/SCALE_REDIS_SERVER point"
    fi
    command -v apt-get >/dev/null || skip "${packages[*]} missing and there is no apt-get to install them"
    as_root true || skip "${packages[*]} missing; installing needs root or passwordless sudo"
    say "installing ${packages[*]} (apt-get)"
    local log="${TMPDIR:-/tmp}/callboard-scale-apt.log"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" >"$log" 2>&1; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" >>"$log" 2>&1 \
            || skip "apt-get install ${packages[*]} failed (see $log)"
    fi
    [[ -n "$(pg_bin)" ]] || skip "postgresql installed but initdb/pg_ctl not found"
    [[ -n "$(redis_bin)" ]] || skip "redis-server installed but not found"
}

free_port() {
    local py
    for py in python3 "$ROOT/.venv/bin/python" python; do
        if command -v "$py" >/dev/null 2>&1 || [[ -x "$py" ]]; then
            "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' && return
        fi
    done
    echo $(( 20000 + RANDOM % 20000 ))  # no Python at all: a random high port
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_run() {  # run a PostgreSQL binary as the cluster's owner
    if [[ -n "$RUN_AS" ]]; then
        runuser -u "$RUN_AS" -- "$@"
    else
        "$@"
    fi
}

running() {  # both alive, as recorded in the state dir
    [[ -f "$ENV_FILE" && -f "$STATE/pg.port" && -f "$STATE/redis.port" ]] || return 1
    port_open "$(cat "$STATE/pg.port")" && port_open "$(cat "$STATE/redis.port")" || return 1
    [[ -f "$STATE/pg/postmaster.pid" ]] && kill -0 "$(head -1 "$STATE/pg/postmaster.pid")" 2>/dev/null || return 1
    [[ -f "$STATE/redis.pid" ]] && kill -0 "$(cat "$STATE/redis.pid")" 2>/dev/null || return 1
}

stop_services() {
    local quiet="${1:-}"
    [[ -d "$STATE" ]] || { [[ -n "$quiet" ]] || say "nothing to stop"; return 0; }
    local bin pid
    if [[ -f "$STATE/pg/postmaster.pid" ]]; then
        pid="$(head -1 "$STATE/pg/postmaster.pid")"
        bin="$(pg_bin)"
        if [[ -n "$bin" ]]; then
            # Throwaway data: an immediate stop is fine; as whoever owns the data dir.
            RUN_AS=""
            [[ $(id -u) -eq 0 && "$(stat -c %U "$STATE/pg")" != root ]] && RUN_AS="$(stat -c %U "$STATE/pg")"
            pg_run "$bin/pg_ctl" -D "$STATE/pg" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
        fi
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    if [[ -f "$STATE/redis.pid" ]]; then
        pid="$(cat "$STATE/redis.pid")"
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -rf "$STATE"
    [[ -n "$quiet" ]] || say "stopped; removed $STATE"
}

start_postgres() {
    local bin port
    bin="$(pg_bin)"
    mkdir -p "$STATE/pg"
    chmod 700 "$STATE/pg"
    if [[ $(id -u) -eq 0 ]]; then
        # initdb refuses root: the cluster belongs to a system user (Debian's postgres).
        RUN_AS=postgres
        if ! id "$RUN_AS" >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_AS" 2>/dev/null \
                || skip "initdb refuses root and no '$RUN_AS' user could be created"
        fi
        chmod 755 "$STATE"
        chown -R "$RUN_AS" "$STATE/pg" || skip "could not give $STATE/pg to $RUN_AS"
        command -v runuser >/dev/null || skip "runuser not found to run PostgreSQL as $RUN_AS"
    fi
    pg_run "$bin/initdb" -D "$STATE/pg" -U "$PG_USER" --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync \
        >"$STATE/initdb.log" 2>&1 \
        || pg_run "$bin/initdb" -D "$STATE/pg" -U "$PG_USER" --auth=trust -E UTF8 --no-locale --no-sync \
        >"$STATE/initdb.log" 2>&1 \
        || skip "initdb failed: $(tail -3 "$STATE/initdb.log" | tr '\n' ' ')"
    for _ in 1 2 3; do
        port="$(free_port)"
        # Loopback only, socket in the data dir, durability off: this data is thrown away.
        if pg_run "$bin/pg_ctl" -D "$STATE/pg" -l "$STATE/pg/server.log" -w -t 30 \
            -o "-p $port -c listen_addresses=127.0.0.1 -k $STATE/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null 2>&1; then
            echo "$port" >"$STATE/pg.port"
            return 0
        fi
    done
    skip "PostgreSQL did not start: $(tail -3 "$STATE/pg/server.log" 2>/dev/null | tr '\n' ' ')"
}

start_redis() {
    local bin port
    bin="$(redis_bin)"
    mkdir -p "$STATE/redis"
    for _ in 1 2 3; do
        port="$(free_port)"
        "$bin" --port "$port" --bind 127.0.0.1 --protected-mode yes --save "" --appendonly no \
            --dir "$STATE/redis" --daemonize yes --pidfile "$STATE/redis.pid" \
            --logfile "$STATE/redis/redis.log" >"$STATE/redis/start.log" 2>&1
        for _ in $(seq 50); do port_open "$port" && break; sleep 0.1; done
        if port_open "$port" && [[ -f "$STATE/redis.pid" ]]; then
            echo "$port" >"$STATE/redis.port"
            return 0
        fi
    done
    skip "Redis did not start: $(cat "$STATE/redis/start.log" "$STATE/redis/redis.log" 2>/dev/null | tail -3 | tr '\n' ' ')"
}

start() {
    if [[ "${SCALE_SERVICES:-on}" == off ]]; then
        say "SCALE_SERVICES=off: not starting anything"
        printf 'unset SCALE_DATABASE_URL SCALE_REDIS_URL\n'
        printf 'export SCALE_SKIP_REASON=%q\n' "scale services turned off (SCALE_SERVICES=off)"
        return 0
    fi
    if running; then
        say "already running ($STATE)"
        cat "$ENV_FILE"
        return 0
    fi
    stop_services quiet  # leftovers of a run that died
    install_missing
    mkdir -p "$STATE" || skip "cannot create $STATE"
    start_postgres
    start_redis
    {
        printf 'unset SCALE_SKIP_REASON\n'
        printf 'export SCALE_DATABASE_URL=postgres://%s@127.0.0.1:%s/postgres\n' "$PG_USER" "$(cat "$STATE/pg.port")"
        printf 'export SCALE_REDIS_URL=redis://127.0.0.1:%s/0\n' "$(cat "$STATE/redis.port")"
    } >"$ENV_FILE"
    say "PostgreSQL on 127.0.0.1:$(cat "$STATE/pg.port"), Redis on 127.0.0.1:$(cat "$STATE/redis.port") ($STATE)"
    cat "$ENV_FILE"
}

case "${1:-}" in
    start) start ;;
    env)
        if running; then cat "$ENV_FILE"
        else
            printf 'unset SCALE_DATABASE_URL SCALE_REDIS_URL\n'
            printf 'export SCALE_SKIP_REASON=%q\n' "scale services not running: run scripts/services.sh start (make test does)"
        fi ;;
    stop) stop_services ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
