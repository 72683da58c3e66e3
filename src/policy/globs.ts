// The policy's globs: matching paths, and asking whether a folder can hold a match (so the
// walk skips folders no glob reaches). Globs are picomatch globs, workspace-relative; `*`
// matches dot files, as gitignore's does.
import picomatch from 'picomatch';

const OPTS = { dot: true } as const;

/** Expands `{a,b}` alternatives (nested too) into separate globs; ranges and escapes are left alone. */
export function expandBraces(glob: string): string[] {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') {
      if (depth++ === 0) open = i;
    } else if (c === '}' && depth > 0 && --depth === 0) {
      const parts = splitTopLevel(glob.slice(open + 1, i));
      if (parts.length < 2) continue; // `{a}` or a range: not an alternative
      const head = glob.slice(0, open);
      const tail = glob.slice(i + 1);
      return parts.flatMap((p) => expandBraces(head + p + tail));
    }
  }
  return [glob];
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/**
 * The brace alternatives of a glob when each is a plain glob (`*`, `?`, `[…]`, `**`) that
 * gitignore and git's `:(glob)` pathspecs read the same way; undefined otherwise.
 */
export function plainAlternatives(glob: string): string[] | undefined {
  const alts = expandBraces(glob);
  const plain = (a: string) => !/(^|[^\\])[{}]/.test(a) && !/[@!+*?]\(/.test(a) && !a.startsWith('!') && !/(^|\/)\.{1,2}(\/|$)/.test(a);
  return alts.every(plain) ? alts : undefined;
}

/** One glob, compiled: the whole path, and segment by segment for folder questions. */
export class Glob {
  readonly source: string;
  readonly isGlob: boolean;
  /** The leading folders without wildcards ('' when it starts with one). */
  readonly base: string;
  /** `base` when a path must start with it to match (no escapes in it), else ''. */
  private readonly prefix: string;
  private readonly whole: (p: string) => boolean;
  private readonly alternatives: Array<Array<'**' | ((s: string) => boolean)>>;

  constructor(glob: string) {
    const source = glob.replace(/^(\.\/)+/, '');
    this.source = source;
    const scan = picomatch.scan(source);
    this.isGlob = scan.isGlob;
    this.base = scan.isGlob ? scan.base : source;
    this.prefix = this.base.includes('\\') ? '' : this.base;
    this.whole = picomatch(source, OPTS);
    this.alternatives = expandBraces(source).map((alt) =>
      alt.split('/').map((seg) => (seg === '**' ? '**' : picomatch(seg, OPTS))),
    );
  }

  matches(rel: string): boolean {
    // Most paths lie outside the glob's base: a prefix test is far cheaper than the matcher.
    const b = this.prefix;
    if (b !== '' && !(rel.length === b.length ? rel === b : rel.startsWith(b) && rel[b.length] === '/')) return false;
    return this.whole(rel);
  }

  /** Whether some path strictly below folder `dir` ('' for the root) could match. */
  mayMatchBelow(dir: string): boolean {
    const parts = dir === '' ? [] : dir.split('/');
    return this.alternatives.some((segs) => below(segs, 0, parts, 0));
  }
}

function below(segs: Array<'**' | ((s: string) => boolean)>, i: number, dir: string[], j: number): boolean {
  if (j === dir.length) return i < segs.length;
  if (i === segs.length) return false;
  const seg = segs[i]!;
  if (seg === '**') return below(segs, i + 1, dir, j) || below(segs, i, dir, j + 1);
  return seg(dir[j]!) && below(segs, i + 1, dir, j + 1);
}

/** An ordered list of globs: which one matches a path first. */
export class GlobList {
  readonly globs: Glob[];

  constructor(sources: readonly string[]) {
    this.globs = sources.map((s) => new Glob(s));
  }

  /** The first glob that matches `rel`, if any. */
  match(rel: string): Glob | undefined {
    for (const g of this.globs) if (g.matches(rel)) return g;
    return undefined;
  }

  mayMatchBelow(dir: string): boolean {
    return this.globs.some((g) => g.mayMatchBelow(dir));
  }
}

/** Whether two globs might match a common path: their static bases lie one inside the other. */
export function mayOverlap(a: Glob, b: Glob): boolean {
  if (!a.isGlob) return b.matches(a.source);
  if (!b.isGlob) return a.matches(b.source);
  const inside = (x: string, y: string) => y === '' || x === y || x.startsWith(y + '/');
  return inside(a.base, b.base) || inside(b.base, a.base);
}
