// Large JSON values fingerprinted by content (an experiment's merged config): a param holds
// `values:<sha256>` of the value's canonical JSON, so sbuild.lock stays small, and the value
// itself is kept in `.sbuild/values/` so `explain` can say which keys changed
// (`model.roi_head.bbox_head.num_classes: 6 → 7`) instead of two hashes.
import fs from 'node:fs';
import path from 'node:path';
import type { Json } from '../config/types.js';
import { canonicalJson, sha256 } from '../hashing/sha256.js';
import { workspaceRoot } from '../config/root.js';
import { valuesDir } from './state-paths.js';

const PREFIX = 'values:';
const REF = /^values:([0-9a-f]{64})$/;

/** One changed key of a values param: a dotted path, with the old and new value (undefined: absent). */
export interface ValueChange {
  key: string;
  old?: Json;
  new?: Json;
}

/**
 * A param value standing for `value` by its content hash; the value is stored in the
 * workspace's `.sbuild/values/` for `explain`. Equal values (in any key order) give equal params.
 */
export function valuesParam(value: Json, root: string = workspaceRoot()): string {
  const text = canonicalJson(value);
  const hex = sha256(text);
  const file = path.join(valuesDir(root), `${hex}.json`);
  if (!fs.existsSync(file)) {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, file);
    } catch {
      /* explain then shows hashes only */
    }
  }
  return PREFIX + hex;
}

export function readValues(root: string, ref: Json | undefined): Json | undefined {
  const m = typeof ref === 'string' ? REF.exec(ref) : null;
  if (!m) return undefined;
  try {
    const text = fs.readFileSync(path.join(valuesDir(root), `${m[1]}.json`), 'utf8');
    return sha256(text) === m[1] ? (JSON.parse(text) as Json) : undefined;
  } catch {
    return undefined;
  }
}

const diffs = new Map<string, ValueChange[] | undefined>();

/**
 * The keys that differ between two values params, when both values are known here; else
 * undefined. An experiment's jobs share one config: the pair is diffed once per process.
 */
export function valueChanges(root: string, oldRef: Json | undefined, newRef: Json | undefined): ValueChange[] | undefined {
  if (typeof oldRef !== 'string' || typeof newRef !== 'string' || !REF.test(oldRef) || !REF.test(newRef)) return undefined;
  const key = `${root}\0${oldRef}\0${newRef}`;
  if (!diffs.has(key)) diffs.set(key, diffValues(root, oldRef, newRef));
  return diffs.get(key);
}

function diffValues(root: string, oldRef: string, newRef: string): ValueChange[] | undefined {
  const a = readValues(root, oldRef);
  const b = readValues(root, newRef);
  if (a === undefined || b === undefined) return undefined;
  const out: ValueChange[] = [];
  diff(a, b, '', out);
  return out;
}

const isObj = (v: Json | undefined): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

function diff(a: Json | undefined, b: Json | undefined, key: string, out: ValueChange[]): void {
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) diff(a[k], b[k], key ? `${key}.${k}` : k, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diff(x, b[i], `${key}.${i}`, out));
    return;
  }
  if (canonicalJson(a) === canonicalJson(b)) return;
  out.push({ key, ...(a !== undefined ? { old: a } : {}), ...(b !== undefined ? { new: b } : {}) });
}
