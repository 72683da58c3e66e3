// Why a target is not fresh. Data, not text: `explain`, `--dry-run`, `status` and the JSON
// event stream all render from these (src/ui/reasons.ts).
import type { Json } from '../config/types.js';
import type { ValueChange } from './values.js';

export type Reason =
  | { kind: 'forced' }
  | { kind: 'never-built' }
  | { kind: 'format-changed' }
  | { kind: 'action-changed'; old: string; new: string }
  | { kind: 'param-changed'; key: string; old: Json | undefined; new: Json | undefined; changes?: ValueChange[] }
  | { kind: 'env-changed'; name: string; old: 'set' | 'unset'; new: 'set' | 'unset' }
  | { kind: 'input-changed'; path: string; old: string; new: string }
  | { kind: 'input-added'; path: string; new: string }
  | { kind: 'input-removed'; path: string; old: string }
  | { kind: 'input-missing'; path: string; producer?: string }
  | { kind: 'outputs-changed'; old: string[]; new: string[] }
  | { kind: 'output-missing'; path: string }
  | { kind: 'output-modified'; path: string; old: string; new: string }
  | { kind: 'upstream-will-run'; dep: string }
  | { kind: 'needed-by'; dependent: string };

export type Decision = { fresh: true } | { fresh: false; reasons: Reason[] };

/**
 * Keys of a `lineage` target's upstream fingerprints among its record's inputs: they diff,
 * hash and persist like inputs, and no workspace path starts with it.
 */
export const LINEAGE_PREFIX = '@upstream:';

/**
 * blocked: an input is missing and nothing produces it (building fails until it is back);
 * missing: nothing changed but outputs are absent (or never built); stale: something changed.
 */
export function category(reasons: Reason[]): 'stale' | 'missing' | 'blocked' {
  if (reasons.some((r) => r.kind === 'input-missing' && r.producer === undefined)) return 'blocked';
  // An upstream output that is not there yet (its producer has not run) changes nothing either.
  return reasons.every((r) => r.kind === 'output-missing' || r.kind === 'never-built' || r.kind === 'input-missing') ? 'missing' : 'stale';
}
