// Reasons → text, in one exhaustive switch.
import { LINEAGE_PREFIX, type Reason } from '../engine/reasons.js';
import { short } from '../hashing/sha256.js';

const json = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
/** Keys of a changed merged config shown on one line; `explain --json` has them all. */
const MAX_CHANGES = 6;

export function describeReason(r: Reason): string {
  switch (r.kind) {
    case 'forced': return 'forced (-B)';
    case 'never-built': return 'never built (no record in sbuild.lock)';
    case 'format-changed': return 'fingerprint format changed (sbuild upgrade)';
    case 'action-changed': return `command changed: ${r.old} → ${r.new}`;
    case 'param-changed': {
      if (!r.changes) return `param ${r.key} changed: ${json(r.old)} → ${json(r.new)}`;
      if (r.changes.length === 0) return `param ${r.key} changed (same values, another encoding)`;
      const shown = r.changes.slice(0, MAX_CHANGES).map((c) => `${c.key}: ${json(c.old)} → ${json(c.new)}`);
      const more = r.changes.length > MAX_CHANGES ? ` (+${r.changes.length - MAX_CHANGES} more keys)` : '';
      return `${r.key} changed: ${shown.join('; ')}${more}`;
    }
    case 'env-changed': return `env ${r.name} changed (${r.old} → ${r.new}; values are not shown)`;
    case 'input-changed':
      if (r.path.startsWith(LINEAGE_PREFIX)) return `upstream ${r.path.slice(LINEAGE_PREFIX.length)} was rebuilt with another fingerprint: ${short(r.old)} → ${short(r.new)}`;
      return `input ${r.path} changed: ${short(r.old)} → ${short(r.new)}`;
    case 'input-added':
      if (r.path.startsWith(LINEAGE_PREFIX)) return `new upstream ${r.path.slice(LINEAGE_PREFIX.length)} (${short(r.new)})`;
      return `input ${r.path} added (${short(r.new)})`;
    case 'input-removed':
      if (r.path.startsWith(LINEAGE_PREFIX)) return `upstream ${r.path.slice(LINEAGE_PREFIX.length)} no longer upstream (was ${short(r.old)})`;
      return `input ${r.path} removed (was ${short(r.old)})`;
    case 'input-missing': return r.producer !== undefined ? `input ${r.path} is missing (an output of ${r.producer})` : `missing input ${r.path} (nothing produces it)`;
    case 'outputs-changed': return `declared outputs changed: [${r.old.join(', ')}] → [${r.new.join(', ')}]`;
    case 'output-missing': return `output ${r.path} is missing`;
    case 'output-modified': return `output ${r.path} was modified: recorded ${short(r.old)}, now ${short(r.new)}`;
    case 'upstream-will-run': return `upstream ${r.dep} will run (its outputs may change)`;
    case 'needed-by': return `needed by ${r.dependent}, which must run`;
  }
}

/** The first reason, plus a count of the others: one line for progress output. */
export function summarizeReasons(rs: Reason[]): string {
  if (rs.length === 0) return '';
  const first = describeReason(rs[0]!);
  return rs.length > 1 ? `${first} (+${rs.length - 1} more)` : first;
}
