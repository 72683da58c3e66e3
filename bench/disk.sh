#!/usr/bin/env bash
# Disk taken by the demo release's outputs and the local cache, per `localCache` mode: a
# fresh copy of the tracked files (as a clone has them) built with `copy` (the default) and
# with `hardlink`. `du` counts a hard-linked file once, so each total is what the disk holds.
# Usage: npm run build && bash bench/disk.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for mode in copy hardlink; do
  d="$work/$mode"
  mkdir -p "$d"
  git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 cp --parents -t "$d")
  ln -s "$repo/node_modules" "$d/node_modules"
  mkdir -p "$d/dist" && cp -r "$repo/dist/src" "$repo/dist/cli" "$repo/dist/rules" "$d/dist/"
  sed -i "s/^export default defineConfig({/export default defineConfig({\n  localCache: { mode: '$mode' },/" "$d/tasks.config.ts"
  (cd "$d" && node bin/sbuild.js -q release >/dev/null)
  (cd "$d" && du -sk --total artifacts data .sbuild/cache | awk -v m="$mode" '{ printf "%-9s %-14s %8.1f MB\n", m, $2, $1 / 1024 }')
done
