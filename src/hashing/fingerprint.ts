// The fingerprint of a target: everything that, when changed, must rerun it. One typed
// record, one comment per field; hashed through canonical JSON so key order never matters.
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Json, Target } from '../config/types.js';
import { canonicalJson, sha256, type Sha256 } from './sha256.js';
import { commandOf } from '../config/params-template.js';

/** Bump when the meaning of the record changes: every target then reruns once. */
export const FINGERPRINT_FORMAT = 1;

export interface FingerprintRecord {
  /** Record format, so an sbuild upgrade that changes hashing never reads old fingerprints as fresh. */
  format: number;
  /** The action's identity: the command line, or an in-process rule's id, version, source and module hashes. */
  action: string;
  /** Declared params, hashed canonically (key order does not matter). */
  params: { [k: string]: Json };
  /** Hash of each declared environment variable's value (null when unset). */
  env: Record<string, Sha256 | null>;
  /** Content hash of every input file (and `folder/` tree hash of upstream output folders), by path. */
  inputs: Record<string, Sha256>;
  /** The declared output paths: moving an output must rerun the producer. */
  outputs: string[];
}

/**
 * Streams the record into SHA-256 field by field (NUL-separated, keys sorted): the same value
 * as hashing a canonical serialisation, without building one string per target.
 */
export function fingerprintOf(rec: FingerprintRecord): Sha256 {
  const h = createHash('sha256');
  h.update(`sbuild-fingerprint\0${rec.format}\0${rec.action}\0${canonicalJson(rec.params)}\0`);
  for (const k of Object.keys(rec.env).sort()) h.update(`env\0${k}\0${rec.env[k] ?? '-'}\0`);
  for (const k of Object.keys(rec.inputs).sort()) h.update(`in\0${k}\0${rec.inputs[k]}\0`);
  for (const o of rec.outputs) h.update(`out\0${o}\0`);
  return h.digest('hex') as Sha256;
}

const moduleHashes = new Map<string, string>();

/** Rule modules may have changed since they were hashed (a config reloaded by `sbuild watch`). */
export function forgetModuleHashes(): void {
  moduleHashes.clear();
}

/**
 * Identity of a target's action, as stored in the lock and compared by `explain`.
 *
 * An in-process function can read values it captured from the config, which its source text
 * does not show. So a function without a declared `rule` is also keyed by `configHash` (the
 * content of every config source file): editing the config reruns it — cheap, and never a
 * wrong "fresh". A declared `rule` is a promise that the action depends only on its source,
 * its `rule.module`, its `version` and its params (which are fingerprinted).
 */
export function actionIdentity(t: Target, configHash = ''): string {
  const run = t.run;
  if (typeof run === 'string' || Array.isArray(run)) return commandIdentity(commandOf(t)!);
  if (typeof run === 'function') {
    const id = t.rule?.id ?? t.name;
    const version = t.rule?.version ?? 0;
    let ident = `fn: ${id}@${version} source=${sha256(run.toString()).slice(0, 16)}`;
    if (!t.rule) ident += ` config=${configHash.slice(0, 16)}`;
    const mod = t.rule?.module;
    if (mod) {
      let h = moduleHashes.get(mod);
      if (h === undefined) {
        try {
          h = sha256(fs.readFileSync(mod.startsWith('file:') ? fileURLToPath(mod) : mod)).slice(0, 16);
        } catch {
          h = 'unreadable';
        }
        moduleHashes.set(mod, h);
      }
      ident += ` module=${h}`;
    }
    return ident;
  }
  return 'group';
}

/**
 * A command's identity: the command as it runs, `{params.KEY}` placeholders substituted. The
 * template plus params would fingerprint the same (params are in the record too), but this
 * string is also what sbuild.lock records as `action` and `explain` shows: the command that
 * ran, which one can copy and run by hand. (A param change then changes both the action and
 * the params; the rebuilder reports it as the param change alone, see `diffRecord`.)
 */
export function commandIdentity(command: string | string[]): string {
  return typeof command === 'string' ? `sh: ${command}` : `exec: ${command.map(quoteArg).join(' ')}`;
}

/** Shell-style quoting, only for display and identity. */
export function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export function envHashes(names: string[] | undefined, env: NodeJS.ProcessEnv): Record<string, Sha256 | null> {
  const out: Record<string, Sha256 | null> = {};
  for (const n of names ?? []) {
    const v = env[n];
    out[n] = v === undefined ? null : sha256(v);
  }
  return out;
}
