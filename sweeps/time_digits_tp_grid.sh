#!/usr/bin/env bash
# Wall time of the 18-point sweep (sweeps/digits_tp_grid.yaml): a LocalCluster of N workers
# (default 2) against the same points one after another, back to back, into fresh folders;
# checks that both give the same numbers. Run from the repository root on a quiet machine:
#   sweeps/time_digits_tp_grid.sh [N]
# (SPEC=... OUT=... choose another spec and output folder.)
set -euo pipefail
N=${1:-2}
SPEC=${SPEC:-sweeps/digits_tp_grid.yaml}
OUT=${OUT:-runs/sweeps/timing}
rm -rf "$OUT"
# compile the Numba kernels first, so neither timed run pays for it
neurotp sweep "$SPEC" --seeds 0 --epochs 1 --set protocol.n_train=10 --set protocol.n_test=10 \
  --sequential --no-progress --out "$OUT/warm" > /dev/null
t0=$(date +%s.%N)
neurotp sweep "$SPEC" --sequential --no-progress --out "$OUT/sequential" > "$OUT.sequential.txt"
t1=$(date +%s.%N)
neurotp sweep "$SPEC" --workers "$N" --no-progress --out "$OUT/local$N" > "$OUT.local$N.txt"
t2=$(date +%s.%N)
python - "$OUT" "$N" "$t0" "$t1" "$t2" <<'PY'
import sys
import pandas as pd
out, n, t0, t1, t2 = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
a = pd.read_csv(f"{out}/sequential/results.csv").sort_values(["hash", "seed"])
b = pd.read_csv(f"{out}/local{n}/results.csv").sort_values(["hash", "seed"])
assert a.hash.tolist() == b.hash.tolist() and (a.status == "ok").all() and (b.status == "ok").all()
assert a.test_accuracy.tolist() == b.test_accuracy.tolist(), "the two runs differ"
seq, par = t1 - t0, t2 - t1
print(f"{len(a)} point runs: sequential {seq:.1f} s, LocalCluster({n}) {par:.1f} s: "
      f"{seq / par:.2f}x; the same numbers")
PY
cat "$OUT/local$N/summary.md"
