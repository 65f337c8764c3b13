#!/usr/bin/env bash
# tether vs boto3 listing the same moto world, in the same run.
#
# Seeds moto with 5,000 untagged instances over 4 regions (default VPCs,
# subnets and security groups come with them), then times, alternately,
# tether's AWS fetch of those regions (benches/moto_sync.rs through
# `tether::sync`: instances, VPCs, subnets, security groups, concurrently)
# and a boto3 paginator listing the same four types region after region
# (benches/moto_sync.py). Prints both medians and the ratio (target:
# tether <= 0.8x boto3), and moto's own CPU time while serving each client
# (moto is one Python process: its CPU is a floor under either wall time).
# Figures, not pass/fail.
#
# Usage: benches/moto_sync.sh   (env: TETHER_MOTO_URL to use a running moto,
#        with MOTO_PID for the CPU figures, MOTO_SYNC_INSTANCES=5000, MOTO_SYNC_RUNS=5,
#        TETHER_CI_VENV)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${TETHER_CI_VENV:-$HOME/.cache/tether-ci-venv}"
if ! "$VENV/bin/python" -c 'import moto.server, boto3' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'moto[server]' boto3
fi
REGIONS="${MOTO_SYNC_REGIONS:-us-east-1,us-west-2,eu-west-1,ap-southeast-1}"
INSTANCES="${MOTO_SYNC_INSTANCES:-5000}"
RUNS="${MOTO_SYNC_RUNS:-5}"

if [ -z "${TETHER_MOTO_URL:-}" ]; then
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
  MOTO_PID=$!
  trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
  export TETHER_MOTO_URL="http://127.0.0.1:$PORT"
  for _ in $(seq 1 100); do
    "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
      "$TETHER_MOTO_URL/moto-api/" 2>/dev/null && break
    sleep 0.2
  done
fi

echo "== seeding $INSTANCES instances over $REGIONS at $TETHER_MOTO_URL"
"$VENV/bin/python" benches/moto_sync.py seed "$TETHER_MOTO_URL" "$REGIONS" "$INSTANCES"

cargo bench --bench moto_sync --no-run -q 2>/dev/null || true
echo "== warm-up (moto initialises its backends on first use)"
MOTO_SYNC_RUNS=1 cargo bench -q --bench moto_sync >/dev/null
"$VENV/bin/python" benches/moto_sync.py boto3 "$TETHER_MOTO_URL" "$REGIONS" 1 >/dev/null

# CPU seconds moto's server process has used (0 when it is not ours to read).
moto_cpu() {
  if [ -n "${MOTO_PID:-}" ] && [ -r "/proc/$MOTO_PID/stat" ]; then
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$MOTO_PID/stat"
  else
    echo 0
  fi
}

echo "== timing ($RUNS runs each, alternating)"
T=(); B=(); TC=(); BC=()
for i in $(seq 1 "$RUNS"); do
  c0=$(moto_cpu)
  t=$(MOTO_SYNC_RUNS=1 MOTO_SYNC_REGIONS="$REGIONS" cargo bench -q --bench moto_sync | tee /dev/stderr | sed -n 's/^tether_median_s=//p')
  c1=$(moto_cpu)
  b=$("$VENV/bin/python" benches/moto_sync.py boto3 "$TETHER_MOTO_URL" "$REGIONS" 1 | tee /dev/stderr | sed -n 's/^boto3_median_s=//p')
  c2=$(moto_cpu)
  T+=("$t"); B+=("$b"); TC+=("$(python3 -c "print($c1 - $c0)")"); BC+=("$(python3 -c "print($c2 - $c1)")")
done
python3 - "${T[*]}" "${B[*]}" "${TC[*]}" "${BC[*]}" <<'PY'
import statistics, sys
t, b, tc, bc = ([float(x) for x in a.split()] for a in sys.argv[1:5])
mt, mb = statistics.median(t), statistics.median(b)
print(f"tether median {mt:.3f} s, boto3 median {mb:.3f} s, ratio {mt / mb:.2f}x "
      f"(target <= 0.8x: {'met' if mt / mb <= 0.8 else 'MISSED'})")
mtc, mbc = statistics.median(tc), statistics.median(bc)
if mtc > 0:
    # moto answers on one core (one Python process): the CPU it spends on
    # the answers is a floor under any client's wall time.
    print(f"moto's own CPU: {mtc:.3f} s while serving tether, {mbc:.3f} s while serving boto3; "
          f"tether's wall time is {mt / mtc:.2f}x moto's CPU for its answers, "
          f"boto3's {mb / mbc:.2f}x; the best ratio moto allows is about {mbc / mb:.2f}x")
PY
