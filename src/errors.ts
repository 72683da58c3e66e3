// Expected failures are values with a kind; the CLI renders them in one place
// (src/ui/errors.ts). Anything else that escapes is a bug in sbuild.

export type ErrorKind =
  | 'config-not-found'
  | 'config-syntax'
  | 'config-load'
  | 'config-invalid'
  | 'duplicate-target'
  | 'output-conflict'
  | 'output-outside'
  | 'cycle'
  | 'input-missing'
  | 'glob-empty'
  | 'unknown-target'
  | 'unknown-dep'
  | 'usage'
  | 'workspace-busy'
  /** Publishing or fetching a release: a store refused, failed or sent bytes that do not match (exit 1). */
  | 'transfer';

/** A usage or config error: exit code 2, nothing written. */
export class SbuildError extends Error {
  readonly kind: ErrorKind;
  /** `file:line:col` (or just a file) the error points at, when known. */
  readonly location: string | undefined;
  /** Extra lines shown under the message (source excerpt, cycle, suggestions). */
  readonly detail: string | undefined;
  readonly exitCode: number;

  constructor(kind: ErrorKind, message: string, opts: { location?: string; detail?: string; exitCode?: number } = {}) {
    super(message);
    this.name = 'SbuildError';
    this.kind = kind;
    this.location = opts.location;
    this.detail = opts.detail;
    this.exitCode = opts.exitCode ?? 2;
  }
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** Up to three known names closest to `wanted`, closest first. */
export function suggest(wanted: string, known: Iterable<string>): string[] {
  const scored: Array<[number, string]> = [];
  for (const name of known) {
    const contains = Math.min(name.length, wanted.length) >= 3 && (name.includes(wanted) || wanted.includes(name));
    const d = contains ? Math.abs(name.length - wanted.length) / 4 : editDistance(wanted, name);
    if (d <= Math.max(2, wanted.length / 3)) scored.push([d, name]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  // Only the closest ones: a near-miss beats a list of guesses.
  const best = scored[0]?.[0] ?? 0;
  return scored.filter(([d]) => d <= best).slice(0, 3).map(([, n]) => n);
}

export function didYouMean(wanted: string, known: Iterable<string>): string {
  const s = suggest(wanted, known);
  return s.length ? ` Did you mean ${s.map((n) => `'${n}'`).join(', ')}?` : '';
}
