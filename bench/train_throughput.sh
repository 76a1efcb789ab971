#!/usr/bin/env bash
# Training time of moltx and chemprop 2.3.1 side by side in one run: ESOL, the shared scaffold
# split, 50 epochs each (chemprop's default; moltx's is 100), otherwise defaults, at 1 and 2
# threads, the two tools alternated ROUNDS times.
#
#   bench/train_throughput.sh [CHEMPROP] [MOLTX] [ROUNDS]
#
# Prints one line per run (tool, threads, wall seconds) and, per thread count, the median wall
# time of each tool and their ratio. Wall time covers the whole command (featurization,
# training, validation, test, writing the model), as a user waits for it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
chemprop=${1:-$here/../cp-venv/bin/chemprop}
moltx=${2:-$here/target/release/moltx}
rounds=${3:-3}
data=$here/../shared/data/molecules/esol.csv
split=$here/../shared/splits/esol_scaffold_seed0.csv
target="measured log solubility in mols per litre"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# chemprop's split file: the shared split as JSON lists of rows.
python3 - "$split" "$work/split.json" <<'EOF'
import csv, json, sys
parts = {"train": [], "val": [], "test": []}
for r in csv.DictReader(open(sys.argv[1])):
    parts[r["split"]].append(int(r["index"]))
json.dump([parts], open(sys.argv[2], "w"))
EOF
wall() { local start=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $start" | bc; }
declare -A times
for threads in 1 2; do
  for round in $(seq "$rounds"); do
    t=$(OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads wall "$chemprop" train -i "$data" \
      -s smiles --target-columns "$target" --splits-file "$work/split.json" \
      --accelerator cpu -o "$work/cp_${threads}_$round")
    echo "chemprop threads=$threads wall=${t}s"
    times[chemprop_$threads]+="$t "
    t=$(RAYON_NUM_THREADS=$threads wall "$moltx" train --data "$data" --target "$target" \
      --split-file "$split" --epochs 50 --out "$work/mx_${threads}_$round" --quiet)
    echo "moltx    threads=$threads wall=${t}s"
    times[moltx_$threads]+="$t "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for threads in 1 2; do
  c=$(echo "${times[chemprop_$threads]}" | median)
  m=$(echo "${times[moltx_$threads]}" | median)
  printf 'threads=%s  chemprop median %.1f s  moltx median %.1f s  ratio %.2fx\n' \
    "$threads" "$c" "$m" "$(echo "$c / $m" | bc -l)"
done
