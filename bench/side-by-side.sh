#!/usr/bin/env bash
# Builds beside a running training, timed: a workspace with a training of TRAIN_S seconds
# (default 30), its evaluation, and a results table that reads neither. While `sbuild eval`
# trains, `sbuild table` (disjoint) is timed, then `sbuild viz` (reads the checkpoint), which
# must wait for the training alone: it ends right after the training, while the first build's
# slow evaluation is still running. Compared with `sbuild table` in a workspace where nothing
# runs. Usage: bench/side-by-side.sh [TRAIN_S]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cli="$here/bin/sbuild.js"
train_s=${1:-30}
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
mkdir -p "$ws/node_modules" && ln -s "$here" "$ws/node_modules/sbuild"
cd "$ws"
cat > tasks.config.ts <<CFG
import { defineConfig } from 'sbuild';
export default defineConfig({
  targets: [
    { name: 'train', inputs: ['cfg.txt'], outputs: ['o/ckpt'], run: 'sleep $train_s; cat cfg.txt > o/ckpt' },
    { name: 'eval', inputs: ['o/ckpt'], outputs: ['o/metrics'], run: 'sleep 5; cat o/ckpt > o/metrics' },
    { name: 'viz', inputs: ['o/ckpt'], outputs: ['o/viz'], run: 'cat o/ckpt > o/viz' },
    { name: 'table', inputs: ['table.src'], outputs: ['o/table'], run: 'cat table.src > o/table' },
  ],
});
CFG
mkdir -p o && echo 'lr=0.1' > cfg.txt && echo rows > table.src
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
export CI=1

# Idle baseline: the table alone, three times (each after an edit, so it runs), median.
base=()
for i in 1 2 3; do
  echo "rows $i" > table.src
  t0=$(now); node "$cli" table > /dev/null; t1=$(now)
  base+=("$(secs "$t0" "$t1")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

echo "lr=0.2" > cfg.txt
echo "rows busy" > table.src
t_start=$(now)
node "$cli" eval > eval.out 2>&1 &
first=$!
sleep 1
t0=$(now); node "$cli" table > table.out 2>&1; t1=$(now)
table_busy=$(secs "$t0" "$t1")
t0=$(now); node "$cli" viz > viz.out 2> viz.err; t_viz=$(now)
wait "$first"
t_end=$(now)
echo "sbuild table, nothing running (median of 3): $(median "${base[@]}") s"
echo "sbuild table, during a ${train_s}-s training:  $table_busy s"
echo "sbuild viz, started 1 s into the training:  waited $(secs "$t0" "$t_viz") s; ended $(secs "$t_start" "$t_viz") s after the training started"
echo "sbuild eval (training + 5-s evaluation):    ended $(secs "$t_start" "$t_end") s after it started"
echo "viz said: $(cat viz.err)"
grep -c . o/viz > /dev/null
