// Writing .gitignore lines: policy globs as anchored gitignore patterns, the lines that ignore a
// folder of run outputs while keeping its paper-facing files, and the edit that re-includes a
// file an existing rule ignores (git never looks inside an ignored folder, so a `!` line alone
// cannot bring back a file below one).
import path from 'node:path';
import picomatch from 'picomatch';
import { expandBraces, mayOverlap, plainAlternatives, type Glob } from './globs.js';
import type { IgnoreRule } from './git.js';

/** One change to an ignore file. */
export interface GitignoreEdit {
  /** The ignore file, relative to the workspace (absolute when outside the repository). */
  file: string;
  /** append: at the end (creating the file); insert-after / replace: at `line`. */
  action: 'append' | 'insert-after' | 'replace';
  /** 1-based line the edit is anchored to (insert-after, replace). */
  line?: number;
  /** That line's current text, to find it again after other edits moved it. */
  old?: string;
  lines: string[];
}

/** Escapes a literal path for gitignore: wildcards, backslashes and trailing spaces. */
export function escapeLiteral(p: string): string {
  return p.replace(/[\\*?[\]]/g, '\\$&').replace(/ +$/, (s) => s.replace(/ /g, '\\ '));
}

const posix = (p: string) => p.split(path.sep).join('/');

const compiled = new Map<string, (p: string) => boolean>();
function matchAlt(glob: string, rel: string): boolean {
  let m = compiled.get(glob);
  if (!m) compiled.set(glob, (m = picomatch(glob, { dot: true })));
  return m(rel);
}

/** Ignore files and patterns for one workspace inside one git work tree. */
export class IgnoreFiles {
  constructor(
    /** Absolute workspace root. */
    readonly root: string,
    /** Absolute top of the git work tree. */
    readonly top: string,
  ) {}

  /** The workspace's own .gitignore, where new lines go. */
  get main(): string {
    return path.join(this.root, '.gitignore');
  }

  display(abs: string): string {
    const rel = posix(path.relative(this.root, abs));
    return rel.startsWith('../') && !abs.startsWith(this.top + path.sep) ? abs : rel;
  }

  /** Where a rule lives: its file, whether sbuild may suggest editing it, and the folder its patterns are relative to. */
  locate(rule: IgnoreRule): { abs: string; editable: boolean; base: string } {
    const abs = path.resolve(this.top, rule.source);
    const inside = abs.startsWith(this.top + path.sep);
    const perDir = inside && path.basename(abs) === '.gitignore' && !posix(path.relative(this.top, abs)).startsWith('.git/');
    // .git/info/exclude is the repository's; core.excludesFile is the user's, not ours to edit.
    return { abs, editable: inside, base: perDir ? path.dirname(abs) : this.top };
  }

  /**
   * A workspace-relative glob as anchored patterns of an ignore file whose patterns are
   * relative to `base` (one per brace alternative); undefined if gitignore cannot say it.
   */
  patterns(glob: string, base: string): string[] | undefined {
    const alts = plainAlternatives(glob);
    if (!alts) return undefined;
    const up = posix(path.relative(base, this.root));
    if (up === '' || !up.startsWith('..')) {
      const prefix = up === '' ? '' : escapeLiteral(up) + '/';
      return alts.map((a) => `/${prefix}${a}`);
    }
    // The ignore file sits below the workspace root: the glob must start with its folder.
    const down = posix(path.relative(this.root, base)) + '/';
    if (!alts.every((a) => a.startsWith(down))) return undefined;
    return alts.map((a) => `/${a.slice(down.length)}`);
  }

  /** One workspace-relative path as an anchored pattern relative to `base`. */
  literal(rel: string, base: string): string {
    return '/' + escapeLiteral(posix(path.relative(base, path.join(this.root, rel))));
  }

  /** `!` lines that re-include what `tracked` matches (or just `rel`), relative to `base`. */
  reinclude(tracked: Glob, rel: string, base: string): string[] {
    return (this.patterns(tracked.source, base) ?? [this.literal(rel, base)]).map((p) => `!${p}`);
  }

  /**
   * Lines for the workspace .gitignore that ignore what `ignored` matches (at folder level when
   * the glob is `folder/**`), keep every overlapping tracked glob, and surely cover `rel`.
   */
  ignoreLines(ignored: Glob, rel: string, tracked: readonly Glob[]): string[] {
    const base = this.root;
    const alts = expandBraces(ignored.source);
    const pats = this.patterns(ignored.source, base);
    // `data/**` also matches a link named `data`, which the gitignore pattern does not.
    const covers = pats !== undefined && alts.some((a) => !(a.endsWith('/**') && rel === a.slice(0, -3)) && matchAlt(a, rel));
    const lines = covers ? [...pats] : [this.literal(rel, base)];
    const keep = tracked.filter((t) => mayOverlap(ignored, t));
    if (covers && keep.length) {
      // Git does not look inside an ignored folder: keep the folders visible, their files ignored.
      for (const p of pats) if (p.endsWith('/**')) lines.push(`!${p}/`);
    }
    for (const t of keep) lines.push(...this.reinclude(t, rel, base));
    return lines;
  }

  /**
   * The edit that lets git see `rel` (matched by `tracked`) again. `rule` ignores it; when
   * `folder` is set, `rule` ignores that folder above it, so the rule itself must change.
   */
  reincludeEdit(rel: string, tracked: Glob, rule: IgnoreRule, folder: string | undefined): GitignoreEdit {
    const at = this.locate(rule);
    const base = at.editable ? at.base : this.root;
    const keep = this.reinclude(tracked, rel, base);
    const x = rule.pattern;
    // A pattern without an inner or leading slash matches at any depth; `y/**` would not.
    const anchored = (y: string) => (y.includes('/') ? y : `**/${y}`);
    let edit: { action: GitignoreEdit['action']; lines: string[] };
    if (folder === undefined) edit = { action: 'insert-after', lines: keep };
    else if (x.endsWith('/**')) edit = { action: 'insert-after', lines: [`!${x}/`, ...keep] };
    else if (x.endsWith('/') && at.editable) {
      const y = anchored(x.slice(0, -1));
      edit = { action: 'replace', lines: [`${y}/**`, `!${y}/**/`, ...keep] };
    } else {
      const y = anchored(x.replace(/\/$/, ''));
      edit = { action: 'insert-after', lines: [x.endsWith('/') ? `!${x}` : `!${x}/`, `${y}/**`, `!${y}/**/`, ...keep] };
    }
    if (!at.editable) return { file: this.display(this.main), action: 'append', lines: edit.lines };
    return { file: this.display(at.abs), action: edit.action, line: rule.line, old: x, lines: edit.lines };
  }
}

/** An edit in words: `add the line `x` to .gitignore`, `in .gitignore replace line 2 …`. */
export function describeEdit(e: GitignoreEdit): string {
  const lines = `${e.lines.length === 1 ? 'the line' : 'the lines'} ${e.lines.map((l) => `\`${l}\``).join(', ')}`;
  switch (e.action) {
    case 'append':
      return `add ${lines} to ${e.file}`;
    case 'insert-after':
      return `add ${lines} to ${e.file} after line ${e.line} (\`${e.old}\`)`;
    case 'replace':
      return `in ${e.file} replace line ${e.line} (\`${e.old}\`) with ${lines}`;
  }
}
