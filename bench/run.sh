#!/usr/bin/env bash
# Serving benchmark: goxy cache hits vs nginx (sendfile) serving the same files.
# Talks only to 127.0.0.1. Not part of the test suite. See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
THREADS="${WRK_THREADS:-1}"
CONNS="${WRK_CONNS:-16}"
DURATION="${WRK_DURATION:-10s}"
ROUNDS="${BENCH_ROUNDS:-3}"
# The load generator needs a core of its own: both servers get the others.
WORKERS="${BENCH_SERVER_WORKERS:-$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))}"
NGINX_PORT="${NGINX_PORT:-18080}"
# BENCH_TARGET_URL: benchmark an already running server instead of starting
# goxy (e.g. a stand-in while goxy is being built); BENCH_TARGET_PID gives its
# pid for the RSS figure.
TARGET_URL="${BENCH_TARGET_URL:-}"
TARGET_PID="${BENCH_TARGET_PID:-}"

MODULE_PATH="/example.test/bench/@v"
FILES=(v1.0.0.info v1.0.0.mod v1.0.0.zip)
# Targets from the issue: goxy/nginx req/s at least this, p99 ratio at most 1.5.
declare -A MIN_RPS_RATIO=([v1.0.0.info]=1.0 [v1.0.0.mod]=1.0 [v1.0.0.zip]=0.8)
MAX_P99_RATIO=1.5
MAX_IDLE_RSS_MIB=30

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

need_tools() {
  local missing=()
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing ${missing[*]} with apt-get"
      apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
    else
      die "missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})"
    fi
  fi
  command -v go >/dev/null || die "the go command is needed to build the fixture generator"
}
NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_http() { # url
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  die "no answer from $1"
}

# wrk's latency ("812.00us", "1.25ms", "1.01s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

# run_wrk URL -> "rps p99_ms"
run_wrk() {
  local out rps p99
  out="$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$1")"
  echo "$out" >>"$OUT/wrk.log"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  if grep -q "Non-2xx" <<<"$out"; then die "non-2xx answers from $1 (see $OUT/wrk.log)"; fi
  [ -n "$rps" ] && [ -n "$p99" ] || die "could not parse wrk output for $1"
  echo "$rps $(to_ms "$p99")"
}

median() { # numbers...
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

rss_mib() { # pid
  awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "n/a"
}

main() {
  need_tools
  rm -rf "$OUT" && mkdir -p "$OUT"
  : >"$OUT/wrk.log"

  log "building the fixture generator and the 1 MiB fixture"
  (cd "$ROOT/tools/gotest" &&
    GOFLAGS=-mod=vendor GOWORK=off GOTOOLCHAIN=local GOPROXY=off go build -o "$OUT/mkfixture" ./cmd/mkfixture)
  "$OUT/mkfixture" -proxy "$OUT/fixture" -bench

  log "starting nginx (sendfile on, $WORKERS workers) on 127.0.0.1:$NGINX_PORT"
  mkdir -p "$OUT/nginx/logs"
  cat >"$OUT/nginx/nginx.conf" <<CONF
user $(id -un) $(id -gn);
worker_processes $WORKERS;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  access_log off;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path $OUT/nginx/tmp;
  proxy_temp_path $OUT/nginx/tmp;
  fastcgi_temp_path $OUT/nginx/tmp;
  uwsgi_temp_path $OUT/nginx/tmp;
  scgi_temp_path $OUT/nginx/tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $OUT/fixture;
    location / { }
  }
}
CONF
  mkdir -p "$OUT/nginx/tmp"
  "$NGINX_BIN" -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" -g "daemon off;" 2>>"$OUT/nginx/logs/error.log" &
  PIDS+=($!)
  local nginx_url="http://127.0.0.1:$NGINX_PORT"
  wait_http "$nginx_url$MODULE_PATH/v1.0.0.info"

  local goxy_url goxy_pid
  if [ -n "$TARGET_URL" ]; then
    goxy_url="$TARGET_URL"
    goxy_pid="$TARGET_PID"
    log "benchmarking the server at $goxy_url instead of goxy"
  else
    log "building goxy (release)"
    (cd "$ROOT" && cargo build --release -q -p goxy)
    local bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/goxy"
    # The fixture is in no checksum database: verification off.
    "$bin" serve --listen 127.0.0.1:0 --cache-dir "$OUT/cache" --upstream "file://$OUT/fixture" --sumdb off --workers "$WORKERS" \
      >"$OUT/goxy.stdout" 2>"$OUT/goxy.log" &
    goxy_pid=$!
    PIDS+=("$goxy_pid")
    for _ in $(seq 1 100); do
      goxy_url="$(sed -n 's/^goxy listening on //p' "$OUT/goxy.stdout" | head -n1)"
      [ -n "$goxy_url" ] && break
      kill -0 "$goxy_pid" 2>/dev/null || die "goxy exited: $(cat "$OUT/goxy.log")"
      sleep 0.1
    done
    [ -n "$goxy_url" ] || die "goxy printed no listening line"
    case "$goxy_url" in http://127.0.0.1:*) ;; *) die "goxy listens on $goxy_url, not loopback" ;; esac
  fi

  log "warming goxy's cache and checking it serves the fixture bytes"
  for f in "${FILES[@]}"; do
    curl -fsS -o "$OUT/warm-$f" "$goxy_url$MODULE_PATH/$f" || die "goxy failed on $f"
    cmp -s "$OUT/warm-$f" "$OUT/fixture$MODULE_PATH/$f" || die "goxy served other bytes for $f"
    local cache
    cache="$(curl -fsS -D - -o /dev/null "$goxy_url$MODULE_PATH/$f" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-goxy-cache" {print $2}')"
    [ -n "$TARGET_URL" ] || [ "$cache" = "hit" ] || die "second request for $f was not a cache hit (X-Goxy-Cache: ${cache:-none})"
  done
  sleep 1
  local idle_rss="n/a"
  [ -z "$goxy_pid" ] || idle_rss="$(rss_mib "$goxy_pid")"

  printf '\n%-12s %8s | %12s %10s | %12s %10s | %9s %9s\n' file bytes "nginx req/s" "p99 ms" "goxy req/s" "p99 ms" "rps ratio" "p99 ratio"
  local verdict=0
  for f in "${FILES[@]}"; do
    local size n_rps n_p99 g_rps g_p99
    size="$(stat -c %s "$OUT/fixture$MODULE_PATH/$f")"
    # nginx and goxy alternate, round after round, so both see the same
    # machine load; the medians of the rounds are compared.
    local n_rps_all=() n_p99_all=() g_rps_all=() g_p99_all=()
    for _round in $(seq 1 "$ROUNDS"); do
      read -r n_rps n_p99 <<<"$(run_wrk "$nginx_url$MODULE_PATH/$f")"
      read -r g_rps g_p99 <<<"$(run_wrk "$goxy_url$MODULE_PATH/$f")"
      n_rps_all+=("$n_rps"); n_p99_all+=("$n_p99"); g_rps_all+=("$g_rps"); g_p99_all+=("$g_p99")
    done
    n_rps="$(median "${n_rps_all[@]}")"; n_p99="$(median "${n_p99_all[@]}")"
    g_rps="$(median "${g_rps_all[@]}")"; g_p99="$(median "${g_p99_all[@]}")"
    local rps_ratio p99_ratio
    rps_ratio="$(awk -v g="$g_rps" -v n="$n_rps" 'BEGIN {printf "%.2f", g / n}')"
    p99_ratio="$(awk -v g="$g_p99" -v n="$n_p99" 'BEGIN {printf "%.2f", (n > 0 ? g / n : 0)}')"
    printf '%-12s %8s | %12s %10s | %12s %10s | %8sx %8sx\n' "$f" "$size" "$n_rps" "$n_p99" "$g_rps" "$g_p99" "$rps_ratio" "$p99_ratio"
    awk -v r="$rps_ratio" -v m="${MIN_RPS_RATIO[$f]}" 'BEGIN {exit !(r >= m)}' ||
      { verdict=1; echo "  below target: $f req/s ratio $rps_ratio < ${MIN_RPS_RATIO[$f]}"; }
    awk -v r="$p99_ratio" -v m="$MAX_P99_RATIO" 'BEGIN {exit !(r <= m)}' ||
      { verdict=1; echo "  above target: $f p99 ratio $p99_ratio > $MAX_P99_RATIO"; }
  done
  local after_rss="n/a"
  [ -z "$goxy_pid" ] || after_rss="$(rss_mib "$goxy_pid")"
  echo
  echo "goxy idle RSS after warm-up: $idle_rss MiB (target <= $MAX_IDLE_RSS_MIB MiB); after the runs: $after_rss MiB"
  if [ "$idle_rss" != "n/a" ]; then
    awk -v r="$idle_rss" -v m="$MAX_IDLE_RSS_MIB" 'BEGIN {exit !(r <= m)}' || { verdict=1; echo "  above target: idle RSS"; }
  fi
  echo "wrk: -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS alternating rounds per file (medians); $(nproc) CPUs, $WORKERS server worker(s) each; raw output in $OUT/wrk.log"
  if [ "$verdict" = 0 ]; then echo "all targets met"; else echo "some targets missed"; fi
}

main "$@"
