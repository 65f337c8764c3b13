#!/usr/bin/env bash
# The main job, end to end, with no cloud account: build tether, start
# tether-sim with a generated four-vendor world, make an age identity, write
# a config for four accounts (one per vendor) with encrypted secrets, then
# validate, plan, apply (with its sync); change the world (a resource added,
# one deleted, a tag changed, a key revoked) and run drift, sync and
# snapshot diff. Every step prints its command and its real output. The
# simulator is stopped and the scratch directory removed on exit, whatever
# happens.
#
# Usage: examples/quickstart/main-job.sh
#   TETHER_BIN_DIR=DIR  use tether and tether-sim from DIR instead of building
#   KEEP=1              keep the scratch directory (its path is printed)
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${TETHER_BIN_DIR:-}" ]; then
  echo "== building tether and tether-sim (release)"
  # The simulator is a package of its own (crates/tether-sim): name both.
  cargo build --release --locked -q -p tether -p tether-sim --bins
  TETHER_BIN_DIR="${CARGO_TARGET_DIR:-target}/release"
fi
TETHER="$TETHER_BIN_DIR/tether"
SIM="$TETHER_BIN_DIR/tether-sim"

WORK="$(mktemp -d)"
SIM_PID=""
cleanup() {
  if [ -n "$SIM_PID" ]; then
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
  fi
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Shows a command as typed, runs it, shows its exit code when not 0.
step() {
  echo
  echo "\$ $*"
  set +e
  "$@" 2>&1
  local code=$?
  set -e
  [ "$code" -eq 0 ] || echo "(exit $code)"
  return 0
}
tether() { "$TETHER" -C "$WORK/config" "$@"; }
admin() { # METHOD PATH [JSON]
  curl -sS -X "$1" "$ADMIN$2" ${3:+-H 'content-type: application/json' -d "$3"} >/dev/null
}

echo "== 1. an age identity"
step "$TETHER" secrets keygen -o "$WORK/key.txt"
RECIPIENT="$(grep -o 'age1[0-9a-z]*' "$WORK/key.txt" | head -n1)"
export TETHER_AGE_IDENTITY="$WORK/key.txt"

echo
echo "== 2. the simulator: one account per vendor, 12 resources each, and a config for them"
"$SIM" --seed 7 --accounts 1 --resources 12 --write-config "$WORK/config" \
  --recipient "$RECIPIENT" > "$WORK/sim.json" 2> "$WORK/sim.log" &
SIM_PID=$!
for _ in $(seq 1 100); do
  [ -s "$WORK/sim.json" ] && break
  sleep 0.1
done
ADMIN="$(sed -n 's/^{"admin":"\([^"]*\)".*/\1/p' "$WORK/sim.json")"
[ -n "$ADMIN" ] || { echo "tether-sim did not start:"; cat "$WORK/sim.log"; exit 1; }
echo "tether-sim is up (admin API $ADMIN). The config it wrote, one block per vendor; the AWS one:"
step sed -n '/^account "aws"/,/^}/p' "$WORK/config/tether.hcl"
echo "and every secret as age ciphertext:"
step ls "$WORK/config/secrets"

echo
echo "== 3. validate, plan, apply (apply verifies every key with its vendor, then syncs)"
step tether validate
step tether plan --detailed-exitcode
step tether apply --auto-approve

echo
echo "== 4. the world changes behind tether's back"
AWS_ID="$(grep -o '"aws":{[^]]*' "$WORK/sim.json" | grep -o '"main_account_id":"[0-9]*"' | head -n1 | cut -d'"' -f4)"
AZ_TENANT="$(grep -o '"azure":{[^]]*' "$WORK/sim.json" | grep -o '"tenant_id":"[^"]*"' | head -n1 | cut -d'"' -f4)"
CSV="$(tether snapshot export latest --format csv)"
DEL_ID="$(echo "$CSV" | grep '^alibaba\.' | grep ',vpc,' | head -n1 | cut -d, -f6)"
TAG_ID="$(echo "$CSV" | grep '^hcs\.' | grep ',instance,' | head -n1 | cut -d, -f6)"
echo "+ a new AWS instance in us-east-1"
admin POST /admin/resources "{\"vendor\":\"aws\",\"account\":\"$AWS_ID\",\"region\":\"us-east-1\",\"type\":\"instance\"}"
echo "- Alibaba VPC $DEL_ID deleted"
admin DELETE "/admin/resources/alibaba/$DEL_ID"
echo "~ HCS instance $TAG_ID re-tagged owner=payments"
admin PATCH "/admin/resources/hcs/$TAG_ID" '{"tags":{"owner":"payments"},"merge":true}'
echo "! the Azure application's secret revoked"
admin POST /admin/credentials/revoke "{\"vendor\":\"azure\",\"account\":\"$AZ_TENANT\"}"

echo
echo "== 5. drift (read-only), sync, and what changed between the two snapshots"
step tether drift --detailed-exitcode
step tether sync
step tether snapshot list
step tether snapshot diff previous latest

echo
echo "== done: the simulator stops and the scratch directory goes"
