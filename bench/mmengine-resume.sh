#!/usr/bin/env bash
# Resume with a real MMEngine Runner (a toy model on the CPU, 6 epochs, a checkpoint per epoch),
# through the rule library's experiment() and mmdetRunner(): the training is killed (kill -9
# of sbuild and of the job) after epoch 2 and the next build must resume it (MMEngine logs
# "resumed epoch: 2") and end with the weights of an uninterrupted run; a config edit after
# an interruption must start from scratch, and changing back must take up the old partial work.
#
#   PYTHON=/usr/bin/python3 PYTHONPATH=/path/to/mmengine bash bench/mmengine-resume.sh
# Needs torch and mmengine importable by $PYTHON (Debian: python3-torch python3-matplotlib;
# mmengine from PyPI) and a built sbuild (npm run build).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-/usr/bin/python3}"
"$py" -c 'import mmengine, torch' || { echo "mmengine and torch must be importable by $py (set PYTHON / PYTHONPATH)"; exit 2; }
work="$(mktemp -d)"
trap 'pkill -9 -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
export SBUILD_PYTHON="$py"
setup() {
  mkdir -p "$1/tools" "$1/configs" "$1/node_modules"
  ln -s "$repo" "$1/node_modules/sbuild"
  cp "$repo/bench/mmengine/train.py" "$repo/bench/mmengine/test.py" "$1/tools/"
  cp "$repo/bench/mmengine/toy.py" "$1/configs/toy.py"
  cat > "$1/tasks.config.ts" <<TS
import { defineConfig } from 'sbuild';
import { experiment, mmdetRunner } from 'sbuild/rules';
const runner = mmdetRunner({ python: '$py', checkpoint: '{final}.pth' });
const e = experiment({ name: 'toy', config: 'configs/toy.py', runner, workDir: 'work_dirs/{name}',
  variants: { full: { evals: [{ name: 'eval-val', split: 'val', metrics: 'val_metrics.json' }] } } });
export default defineConfig({ default: 'all', targets: [...e.targets, { name: 'all', deps: e.targets.map((t) => t.name) }] });
TS
}
sb() { node "$repo/bin/sbuild.js" "$@"; }
check() { if eval "$2"; then echo "PASS $1"; else echo "FAIL $1"; fails=1; fi; }
fails=0
# Killed after epoch 2 of the run of this config (runs.log shows the run started).
kill_at_epoch2() {
  : > runs.log
  (STEP_SECONDS=0.1 node "$repo/bin/sbuild.js" > build.log 2>&1 &)
  for _ in $(seq 1 600); do grep -q '^train' runs.log 2>/dev/null && [ -e work_dirs/toy/epoch_2.pth ] && break; sleep 0.1; done
  pkill -9 -f "$repo/bin/sbuild.js" || true
  pkill -9 -f "tools/train.py configs/toy.py" || true
  sleep 1
}
last_log() { ls -d work_dirs/toy/2*/ | tail -1 | xargs -I{} sh -c 'cat {}*.log'; }

setup "$work/clean" && (cd "$work/clean" && sb -q >/dev/null)
setup "$work/ws" && cd "$work/ws"
kill_at_epoch2
sb -q >/dev/null
check "a killed training resumes with --resume" "grep -q 'train toy.py resume=auto' runs.log"
check "MMEngine resumed it from epoch 2" "last_log | grep -q 'resumed epoch: 2'"
check "the result equals an uninterrupted run's" "cmp -s work_dirs/toy/val_metrics.json '$work/clean/work_dirs/toy/val_metrics.json'"
sed -i 's/lr=0.01/lr=0.05/' configs/toy.py
kill_at_epoch2
sed -i 's/lr=0.05/lr=0.06/' configs/toy.py
: > runs.log; sb -q >/dev/null
check "after a config edit it starts from scratch" "grep -q 'train toy.py resume=None' runs.log && ! last_log | grep -q 'Auto resumed'"
sed -i 's/lr=0.06/lr=0.05/' configs/toy.py
: > runs.log; sb -q >/dev/null
check "changed back, the set-aside partial work resumes" "grep -q 'train toy.py resume=auto' runs.log && last_log | grep -q 'resumed epoch: 2'"
exit "$fails"
