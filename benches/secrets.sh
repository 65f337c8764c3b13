#!/bin/sh
# Decrypting 1,000 armored X25519 secrets: tether vs pyrage vs the `age` CLI.
#
# Installs nothing. Needs, beforehand:
#   pip install pyrage          (or PYTHON=/path/to/venv/bin/python with pyrage in it)
#   apt-get install age         (Debian's `age`, for `age -d` once per value)
#
# Usage: benches/secrets.sh [RUNS]   (default 21 runs for tether and pyrage; `age` runs once
#        over the 1,000 values, AGE_RUNS=N to repeat)
# Prints the median of each, the per-value cost, and the ratios.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-21}
AGE_RUNS=${AGE_RUNS:-1}
PYTHON=${PYTHON:-python3}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT

"$PYTHON" -c 'import pyrage' 2>/dev/null || { echo "pyrage is missing: pip install pyrage (or set PYTHON)" >&2; exit 1; }
command -v age >/dev/null || { echo "age is missing: apt-get install age" >&2; exit 1; }

# 1. tether (release build): writes key.txt and values/NNNN.age into $DIR, prints its median.
cargo bench --quiet --bench decrypt -- --dir "$DIR" --runs "$RUNS" | tee "$DIR/tether.out"
tether_ms=$(sed -n 's/^tether_median_ms=//p' "$DIR/tether.out")

# 2. pyrage: the same 1,000 values, one Python process, median of RUNS.
pyrage_ms=$("$PYTHON" - "$DIR" "$RUNS" <<'PY'
import pathlib, statistics, sys, time
import pyrage
d, runs = pathlib.Path(sys.argv[1]), int(sys.argv[2])
key = [l for l in (d / "key.txt").read_text().splitlines() if l.startswith("AGE-SECRET-KEY-")][0]
ident = pyrage.x25519.Identity.from_str(key)
values = [p.read_bytes() for p in sorted((d / "values").glob("*.age"))]
def once():
    for v in values:
        pyrage.decrypt(v, [ident])
once()
times = []
for _ in range(runs):
    t = time.perf_counter(); once(); times.append(time.perf_counter() - t)
print(f"{statistics.median(times) * 1000:.3f}")
PY
)
echo "pyrage: decrypt 1000 armored X25519 secrets in one process: median ${pyrage_ms} ms over ${RUNS} runs"

# 3. age CLI: one process per value, as a shell loop would.
age_times=""
i=0
while [ "$i" -lt "$AGE_RUNS" ]; do
  start=$(date +%s%N)
  for f in "$DIR"/values/*.age; do
    age -d -i "$DIR/key.txt" "$f" >/dev/null
  done
  end=$(date +%s%N)
  age_times="$age_times $(( (end - start) / 1000 ))"
  i=$((i + 1))
done
age_ms=$(echo "$age_times" | tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)] / 1000}')
echo "age -d: 1000 values, one process each: median ${age_ms} ms over ${AGE_RUNS} run(s)"

awk -v t="$tether_ms" -v p="$pyrage_ms" -v a="$age_ms" 'BEGIN {
  printf "\nper value: tether %.1f us, pyrage %.1f us, age %.1f us\n", t, p, a
  printf "tether is %.1fx faster than pyrage and %.0fx faster than age per value\n", p / t, a / t
}'
