// `sbuild gc [--max-size 5GB]`: prune the local store, least recently used first (restores
// and stores touch what they use). Action results whose blobs are gone are removed too.
import fs from 'node:fs';
import path from 'node:path';
import type { LocalStore } from './local-store.js';
import { cachedFiles, type ActionResult } from './cache.js';

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
  // What takes room: blobs, and action results that keep files inline (cache.ts, CachedFile).
  // Both go least recently used first (restores and stores touch what they use).
  const items: Array<{ file: string; size: number; used: number; links: number; blob: boolean }> = [];
  const casDir = path.join(store.dir, 'cas');
  for (const sub of safeList(casDir)) {
    for (const f of safeList(path.join(casDir, sub))) {
      const file = path.join(casDir, sub, f);
      const st = fs.statSync(file, { throwIfNoEntry: false });
      if (st?.isFile()) items.push({ file, size: st.size, used: st.mtimeMs, links: st.nlink, blob: true });
    }
  }
  const acDir = path.join(store.dir, 'ac');
  const results = new Map<string, ActionResult | undefined>();
  for (const f of safeList(acDir)) {
    const file = path.join(acDir, f);
    const r = readResult(file);
    results.set(file, r);
    if (!r || !hasInline(r)) continue;
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st?.isFile()) items.push({ file, size: st.size, used: st.mtimeMs, links: 1, blob: false });
  }
  const before = items.reduce((a, b) => a + b.size, 0);
  let total = before;
  let removedBlobs = 0;
  let removedActions = 0;
  let freed = 0;
  items.sort((a, b) => a.used - b.used);
  for (const b of items) {
    if (total <= maxBytes) break;
    fs.rmSync(b.file, { force: true });
    total -= b.size;
    if (b.links <= 1) freed += b.size;
    if (b.blob) removedBlobs++;
    else {
      results.delete(b.file);
      removedActions++;
    }
  }
  // Results that lost a blob (or cannot be read) can restore nothing.
  for (const [file, r] of results) {
    if (r && restorable(store, r)) continue;
    fs.rmSync(file, { force: true });
    removedActions++;
  }
  return { before, after: total, removedBlobs, removedActions, freed };
}

function readResult(file: string): ActionResult | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ActionResult;
  } catch {
    return undefined;
  }
}

function restorable(store: LocalStore, r: ActionResult): boolean {
  try {
    return store.blobsOf(r).every((b) => store.hasBlob(b.hash));
  } catch {
    return false; // not a result's shape
  }
}

function hasInline(r: ActionResult): boolean {
  try {
    for (const [, f] of cachedFiles(r)) if (f.data !== undefined) return true;
  } catch {
    // not a result's shape: removed with the unreadable ones
  }
  return false;
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
