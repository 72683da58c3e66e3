// Which experiment a target belongs to, for the report's graph: the first two segments of a
// deeper name (`exp/cfar_ca/full/eval-test` → `exp/cfar_ca`), the first of a two-segment one
// (`exp0001/train` → `exp0001`), the name itself otherwise. And how a group's state is summed up.

export function groupOf(name: string): string {
  const parts = name.split('/');
  if (parts.length >= 3) return `${parts[0]}/${parts[1]}`;
  if (parts.length === 2) return parts[0]!;
  return name;
}

export type State = 'fresh' | 'stale' | 'missing' | 'failed';

/** Worst first: a failure, then results that no longer match their inputs, then absent ones. */
export const STATE_ORDER: readonly State[] = ['failed', 'stale', 'missing', 'fresh'];

export function worstState(states: Iterable<State>): State {
  let best = STATE_ORDER.length - 1;
  for (const s of states) best = Math.min(best, STATE_ORDER.indexOf(s));
  return STATE_ORDER[best]!;
}

/** A member's label inside its group's box: the name without the group's prefix. */
export function memberLabel(name: string, group: string): string {
  return name.startsWith(group + '/') ? name.slice(group.length + 1) : name;
}
