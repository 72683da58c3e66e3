#!/usr/bin/env bash
# Times the demo release on a fresh copy of the tracked files (as a clone has them):
# cold (no outputs, no cache), no-op, and one experiment's config edited (a new OS-CFAR
# rank each run, so it really retrains). Needs hyperfine. Usage: bash bench/demo.sh [runs]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 cp --parents -t "$work")
ln -s "$repo/node_modules" "$work/node_modules"
mkdir -p "$work/dist" && cp -r "$repo/dist/src" "$repo/dist/cli" "$repo/dist/rules" "$work/dist/"
cd "$work"
sb="node bin/sbuild.js -q"
hyperfine --style basic --runs 3 --prepare 'rm -rf .sbuild artifacts/work_dirs/*/*/checkpoint.json artifacts/release artifacts/release_assets artifacts/visualizations data dist/demo' \
  "$sb release" --export-json "$work/cold.json"
$sb release
hyperfine --style basic --warmup 2 --runs "$runs" "$sb release" 'node -e 0' --export-json "$work/noop.json"
# Each edit picks a rank never used before, so the experiment really retrains.
cat > "$work/edit.mjs" <<'JS'
import fs from 'node:fs';
const f = 'configs/sardet_mini/cfar_os.py';
const rank = (0.5 + (Date.now() % 40000) / 100000).toFixed(5);
fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(/^model = dict\(.*$/m, `model = dict(type='OSCFAR', rank=${rank})`));
JS
hyperfine --style basic --runs "$runs" --prepare "node $work/edit.mjs" \
  "$sb release" --export-json "$work/edit.json"
for f in cold noop edit; do
  node -e "const r=require('$work/$f.json').results; for (const x of r) console.log('$f', x.command, 'median', x.median.toFixed(3), 's')"
done
