// `sbuild gc [--max-size 5GB]`: prune the local store, least recently used first (restores
// and stores touch what they use). Action results whose blobs are gone are removed too.
import fs from 'node:fs';
import path from 'node:path';
import type { LocalStore } from './local-store.js';
import type { ActionResult } from './cache.js';

export interface GcReport {
  before: number;
  after: number;
  removedBlobs: number;
  removedActions: number;
  /** Bytes the removed blobs free on disk: a blob still hard-linked from the workspace frees nothing. */
  freed: number;
}

export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g|tb|t)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase()[0]!;
  const mult = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit]!;
  return Math.round(Number(m[1]) * mult);
}

export function gc(store: LocalStore, maxBytes: number): GcReport {
  const blobs: Array<{ file: string; size: number; used: number; links: number }> = [];
  const casDir = path.join(store.dir, 'cas');
  for (const sub of safeList(casDir)) {
    for (const f of safeList(path.join(casDir, sub))) {
      const file = path.join(casDir, sub, f);
      const st = fs.statSync(file, { throwIfNoEntry: false });
      if (st?.isFile()) blobs.push({ file, size: st.size, used: st.mtimeMs, links: st.nlink });
    }
  }
  const before = blobs.reduce((a, b) => a + b.size, 0);
  let total = before;
  let removedBlobs = 0;
  let freed = 0;
  blobs.sort((a, b) => a.used - b.used);
  for (const b of blobs) {
    if (total <= maxBytes) break;
    fs.rmSync(b.file, { force: true });
    total -= b.size;
    if (b.links <= 1) freed += b.size;
    removedBlobs++;
  }
  let removedActions = 0;
  const acDir = path.join(store.dir, 'ac');
  for (const f of safeList(acDir)) {
    const file = path.join(acDir, f);
    let keep = false;
    try {
      const r = JSON.parse(fs.readFileSync(file, 'utf8')) as ActionResult;
      keep = store.blobsOf(r).every((b) => store.hasBlob(b.hash));
    } catch {
      keep = false;
    }
    if (!keep) {
      fs.rmSync(file, { force: true });
      removedActions++;
    }
  }
  return { before, after: total, removedBlobs, removedActions, freed };
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
