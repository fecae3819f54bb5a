#!/usr/bin/env bash
# HTTP benchmark of the production server (gunicorn.conf.py, as `make run` starts it).
#
# Seeds a throwaway database (the seed story plus a few hundred generated ones),
# starts the server on a free loopback port and measures with wrk (Debian's
# package), 32 connections each: a hashed static file, the seed article from the
# page cache, the same article with the cache bypassed (a session cookie), the
# home page and a topic page; the same through nginx (deploy/nginx) when nginx is
# installed. Then 64 connections for 30 s on the article page. Prints requests/s,
# p50/p99 latency, each page's ratio to the static file of the same server,
# errors, and the resident (RSS) and proportional (PSS) memory of the master and
# of each worker once they have served it all.
#
#   benchmarks/http_bench.sh                     # SQLite and the file cache
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/h10b \
#   BENCH_REDIS_URL=redis://127.0.0.1:6379/10 benchmarks/http_bench.sh
#
# BENCH_DATABASE_URL must name a throwaway database: it is flushed and seeded.
# DURATION (default 10s) sets the length of each 32-connection run;
# GUNICORN_CMD_ARGS (e.g. "--worker-class gthread --threads 4") compares settings.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=${DURATION:-10s}
ARTICLES=${ARTICLES:-300}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
WRK=$(command -v wrk || true)
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
if [ -z "$WRK" ]; then
    echo "wrk is not installed: apt-get install wrk" >&2
    exit 2
fi
if [ ! -x "$PYTHON" ]; then
    echo "no virtualenv at .venv: run 'make install' first" >&2
    exit 2
fi

WORK=$(mktemp -d /tmp/newsroom-bench.XXXXXX)
SERVER_PID=""
NGINX_PID=""
cleanup() {
    [ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    if [ -n "${BENCH_REDIS_URL:-}" ]; then  # this run's keys only, never a flush
        "$PYTHON" -c 'import redis, sys; r = redis.Redis.from_url(sys.argv[1]); keys = list(r.scan_iter(match=sys.argv[2] + ":*")); keys and r.delete(*keys)' "$BENCH_REDIS_URL" "$CACHE_KEY_PREFIX"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Production settings: debug off, a real key, everything under $WORK.
unset DJANGO_DEBUG DATABASE_URL REDIS_URL CACHE_KEY_PREFIX DJANGO_HTTPS
export DJANGO_SETTINGS_MODULE=newsroom.settings
export NEWSROOM_VAR_DIR="$WORK/var"
export DJANGO_SECRET_KEY
DJANGO_SECRET_KEY=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')
[ -n "${BENCH_DATABASE_URL:-}" ] && export DATABASE_URL="$BENCH_DATABASE_URL"
if [ -n "${BENCH_REDIS_URL:-}" ]; then
    export REDIS_URL="$BENCH_REDIS_URL" CACHE_KEY_PREFIX="bench-$$"
fi
mkdir -p "$NEWSROOM_VAR_DIR"

# wait_until_healthy BASE-URL: until /healthz answers 200 (about 20 s at most).
wait_until_healthy() {
    for _ in $(seq 100); do
        curl -fs -o /dev/null "$1/healthz" && return 0
        sleep 0.2
    done
    return 1
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "== seeding"
"$PYTHON" manage.py migrate --noinput --verbosity 0
[ -n "${BENCH_DATABASE_URL:-}" ] && "$PYTHON" manage.py flush --noinput --verbosity 0
"$PYTHON" manage.py collectstatic --noinput --verbosity 0
"$PYTHON" manage.py nginx_limits --verbosity 0
mapfile -t PAGES < <("$PYTHON" benchmarks/seed_database.py "$ARTICLES")
ARTICLE=${PAGES[0]}
TOPIC=${PAGES[1]}
STATIC=/static/$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["paths"]["css/site.css"])' "$NEWSROOM_VAR_DIR/static/staticfiles.json")

PORT=$(free_port)
export PORT
"$ROOT/.venv/bin/gunicorn" --config gunicorn.conf.py newsroom.wsgi >"$WORK/gunicorn.log" 2>&1 &
SERVER_PID=$!
BASE=http://127.0.0.1:$PORT
wait_until_healthy "$BASE" || { cat "$WORK/gunicorn.log"; exit 1; }

workers() { pgrep -P "$SERVER_PID" | tr '\n' ' '; }
echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "machine:  $(nproc) cores; $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server:   gunicorn.conf.py${GUNICORN_CMD_ARGS:+ with $GUNICORN_CMD_ARGS}"
echo "database: ${BENCH_DATABASE_URL:-SQLite file}; cache: ${BENCH_REDIS_URL:-files under var/cache}"
echo "pages:    article $ARTICLE, topic $TOPIC, static $STATIC"
echo "data:     1 seed article + $ARTICLES generated; wrk $($WRK --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo

# check URL EXPECTED-X-CACHE [curl args]: the page answers 200 as expected.
check() {
    local headers
    headers=$(curl -s -o /dev/null -D - "${@:3}" "$1")
    grep -q "^HTTP/1.1 200" <<<"$headers" || { echo "not 200: $1"; echo "$headers"; exit 1; }
    if [ -n "$2" ]; then
        grep -qi "^$2" <<<"$headers" || { echo "expected $2: $1"; echo "$headers"; exit 1; }
    fi
}

RESULTS=$WORK/results
# measure LABEL CONNECTIONS DURATION URL [wrk args]: one wrk run, one result line.
measure() {
    local label=$1 connections=$2 duration=$3 url=$4
    local out="$WORK/wrk.out"
    "$WRK" -t2 -c"$connections" -d"$duration" --latency "${@:5}" "$url" >"$out"
    awk -v label="$label" -v c="$connections" -v d="$duration" '
        function ms(v) {
            if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
            if (v ~ /m$/) return v * 60000; return v * 1000
        }
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
        /Socket errors/ { gsub(/,/, ""); errors = $4 + $6 + $8 + $10; kinds = $4 "/" $6 "/" $8 "/" $10 }
        /Non-2xx or 3xx/ { non2xx = $5 }
        /requests in/ { total = $1 }
        END {
            printf "%s\t%d\t%s\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t%s\n",
                label, c, d, rps, p50, p99, errors, non2xx, total, kinds ? kinds : "0/0/0/0"
        }' "$out" >>"$RESULTS"
}

echo "== gunicorn (direct), $DURATION each, 32 connections"
check "$BASE$ARTICLE" "X-Cache: MISS"
check "$BASE$ARTICLE" "X-Cache: HIT"
check "$BASE$ARTICLE" "" -H "Cookie: sessionid=benchmark-bypass"
check "$BASE/" ""
check "$BASE$TOPIC" ""
check "$BASE$STATIC" ""
measure "static file (hashed)" 32 "$DURATION" "$BASE$STATIC"
measure "article, cached" 32 "$DURATION" "$BASE$ARTICLE"
measure "article, uncached" 32 "$DURATION" "$BASE$ARTICLE" -H "Cookie: sessionid=benchmark-bypass"
measure "home page, cached" 32 "$DURATION" "$BASE/"
measure "topic page, cached" 32 "$DURATION" "$BASE$TOPIC"

if [ -n "$NGINX" ]; then
    NGINX_PORT=$(free_port)
    mkdir -p "$WORK/nginx"
    sed -e "s|@USER_LINE@|$([ "$(id -u)" = 0 ] && echo 'user root;')|" \
        -e "s|@PREFIX@|$WORK/nginx|g" -e "s|@UPSTREAM_PORT@|$PORT|" \
        -e "s|@PORT@|$NGINX_PORT|" -e "s|@VAR_DIR@|$NEWSROOM_VAR_DIR|g" \
        -e "s|@APP_CONF@|$ROOT/deploy/nginx/newsroom-app.conf|" \
        benchmarks/nginx.conf.in >"$WORK/nginx/nginx.conf"
    "$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
    NGINX_PID=$!
    NGINX_BASE=http://127.0.0.1:$NGINX_PORT
    wait_until_healthy "$NGINX_BASE" || { cat "$WORK/nginx/error.log"; exit 1; }
    check "$NGINX_BASE$ARTICLE" ""
    check "$NGINX_BASE$ARTICLE" "X-Proxy-Cache: HIT"
    check "$NGINX_BASE/" ""
    check "$NGINX_BASE$TOPIC" ""
    echo "== nginx (deploy/nginx/newsroom-app.conf) in front, $DURATION each, 32 connections"
    measure "nginx: static file" 32 "$DURATION" "$NGINX_BASE$STATIC"
    measure "nginx: article, cached" 32 "$DURATION" "$NGINX_BASE$ARTICLE"
    measure "nginx: article, uncached" 32 "$DURATION" "$NGINX_BASE$ARTICLE" -H "Cookie: sessionid=benchmark-bypass"
    measure "nginx: home page" 32 "$DURATION" "$NGINX_BASE/"
    measure "nginx: topic page" 32 "$DURATION" "$NGINX_BASE$TOPIC"
else
    echo "== nginx is not installed: skipping the nginx runs (apt-get install nginx)"
fi

echo "== gunicorn (direct), 64 connections for 30 s on the article page"
measure "article, 64 connections" 64 30s "$BASE$ARTICLE"

# Memory of the master and each worker now: resident (RSS, counting the pages
# it shares with the others, such as the code loaded before gunicorn forks
# them), the most it ever held (VmHWM), and its proportional share (PSS: a
# page shared by n processes counts 1/n in each), what it costs the machine.
# memory_kib PID FIELD: one figure in KiB from /proc/PID/smaps_rollup or status.
memory_kib() {
    case $2 in
        Rss|Pss) awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup" ;;
        *) awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" ;;
    esac
}
MEMORY=$WORK/memory
: >"$MEMORY"
for pid in "$SERVER_PID" $(workers); do
    role=worker
    [ "$pid" = "$SERVER_PID" ] && role=master
    printf '%s\t%s\t%s\t%s\t%s\n' "$role" "$pid" "$(memory_kib "$pid" Rss)" \
        "$(memory_kib "$pid" Pss)" "$(memory_kib "$pid" VmHWM)" >>"$MEMORY"
done

echo
awk -F'\t' '
    BEGIN {
        printf "%-28s %4s %4s %8s %7s %7s %6s %6s %8s %8s\n",
            "page", "conn", "time", "req/s", "p50 ms", "p99 ms", "ratio", "errors",
            "(c/r/w/t)", "non-2xx"
    }
    $1 ~ /^static file/ { base = $4 }
    $1 == "nginx: static file" { base = $4 }
    {
        ratio = (base > 0) ? sprintf("%.3f", $4 / base) : "-"
        if ($2 == 64) ratio = "-"
        printf "%-28s %4d %4s %8.1f %7.1f %7.1f %6s %6d %9s %8d\n",
            $1, $2, $3, $4, $5, $6, ratio, $7, $10, $8
    }' "$RESULTS"
echo
awk -F'\t' '
    BEGIN { printf "%-7s %8s %9s %9s %9s\n", "memory", "pid", "RSS MiB", "PSS MiB", "peak MiB" }
    {
        printf "%-7s %8s %9.1f %9.1f %9.1f\n", $1, $2, $3 / 1024, $4 / 1024, $5 / 1024
        if ($1 == "worker") {
            n++; pss += $4
            if ($3 > rss) rss = $3
            if ($4 > largest_pss) largest_pss = $4
            if ($5 > peak) peak = $5
        }
    }
    END {
        printf "largest worker resident memory: %.1f MiB now, %.1f MiB at its peak\n",
            rss / 1024, peak / 1024
        printf "largest worker proportional share (PSS): %.1f MiB; all %d workers: %.1f MiB\n",
            largest_pss / 1024, n, pss / 1024
    }' "$MEMORY"
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg) (high on a shared machine: noisy figures)"
echo "(ratio: requests/s over the static file's on the same server; errors: wrk socket"
echo " errors (connect/read/write/timeout, a timeout being no answer within 2 s);"
echo " non-2xx: responses neither 2xx nor 3xx)"
