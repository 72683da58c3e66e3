// A policy report as text or as JSON. The text report lists violations by kind; within a kind,
// violations that share one fix are one entry: what they have in common, the fix once (the
// .gitignore edit, then one command over all their paths), and their paths. A summary ends it.
import { mb, shellQuote, type PolicyReport, type Violation, type ViolationKind } from './evaluate.js';
import { describeEdit, type GitignoreEdit } from './gitignore.js';
import { Glob, mayOverlap, plainAlternatives } from './globs.js';

/** Entries shown per kind; the rest are counted (and all listed by --json). */
export const GROUP_LIMIT = 50;

/** Paths listed per entry; the rest are counted (the entry's command still names them all). */
export const PATHS_SHOWN = 10;

/** Tracked run outputs of one policy glob are removed by one glob pathspec from this many on. */
export const COLLAPSE_AT = 4;

/** Width at which a printed command is continued on the next line (with ` \`). */
export const COMMAND_WIDTH = 100;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function heading(kind: ViolationKind, r: PolicyReport): string {
  switch (kind) {
    case 'not-tracked': return 'Paper-facing files not tracked in git (policy.tracked):';
    case 'tracked-output': return 'Run outputs tracked in git (policy.ignored):';
    case 'not-ignored': return 'Run outputs git does not ignore (policy.ignored):';
    case 'too-large': return `Tracked files over ${r.maxFileMB} MB (policy.maxFileMB):`;
  }
}

function counted(kind: ViolationKind, n: number, r: PolicyReport): string {
  switch (kind) {
    case 'not-tracked': return plural(n, 'paper-facing file not tracked', 'paper-facing files not tracked');
    case 'tracked-output': return plural(n, 'run output tracked', 'run outputs tracked');
    case 'not-ignored': return plural(n, 'run output not ignored', 'run outputs not ignored');
    case 'too-large': return plural(n, `file over ${r.maxFileMB} MB`, `files over ${r.maxFileMB} MB`);
  }
}

export function violationLine(v: Violation): string {
  return `${v.path}: ${v.message}. Fix: ${v.fix.text}`;
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];
const code = (s: string) => `\`${s}\``;

/** A command over many arguments, continued over lines (` \`, then indented) past COMMAND_WIDTH. */
export function wrapCommand(words: string[]): string[] {
  const lines: string[] = [];
  let line = words[0]!;
  for (const w of words.slice(1)) {
    const indent = lines.length ? 2 : 0;
    if (indent + line.length + 1 + w.length + 2 > COMMAND_WIDTH) {
      lines.push(`${line} \\`);
      line = w;
    } else line += ` ${w}`;
  }
  lines.push(line);
  return lines.map((l, i) => (i ? `  ${l}` : l));
}

/** Edits in an order that applies as listed: per file, edits at a line from the bottom up, then appends. */
function inOrder(edits: GitignoreEdit[]): GitignoreEdit[] {
  const files = unique(edits.map((e) => e.file));
  return edits.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file) || (b.line ?? -1) - (a.line ?? -1));
}

/**
 * The edits of several fixes as few edits: repeats dropped, and the lines appended to one file
 * as one append (the ignoring lines first, then the `!` lines that keep files out of them).
 */
export function mergeEdits(edits: GitignoreEdit[]): GitignoreEdit[] {
  const out: GitignoreEdit[] = [];
  const seen = new Set<string>();
  for (const e of edits) {
    const key = JSON.stringify(e);
    if (seen.has(key)) continue;
    seen.add(key);
    const into = e.action === 'append' ? out.find((o) => o.action === 'append' && o.file === e.file) : undefined;
    if (into) into.lines.push(...e.lines.filter((l) => !into.lines.includes(l)));
    else out.push({ ...e, lines: [...e.lines] });
  }
  for (const e of out) if (e.action === 'append') e.lines = [...e.lines.filter((l) => !l.startsWith('!')), ...e.lines.filter((l) => l.startsWith('!'))];
  return inOrder(out);
}

const describeEdits = (edits: GitignoreEdit[]) => mergeEdits(edits).map(describeEdit).join(', then ');

/** Which violations of a kind share one fix. */
function fixKey(v: Violation, r: PolicyReport): string {
  const rule = r.alreadyIgnored.get(v.path) ?? null;
  switch (v.kind) {
    case 'not-tracked': return JSON.stringify(v.fix.gitignore); // one edit per rule (or none), then git add
    case 'not-ignored': return JSON.stringify([v.glob]); // appends to one .gitignore, merged
    case 'tracked-output': return JSON.stringify([v.glob, rule]);
    case 'too-large': return JSON.stringify(v.glob !== undefined ? ['paper', v.glob] : ['other', rule]);
  }
}

/** One entry for several violations: a sentence, the fix (and its command), then the paths. */
function entry(what: string, fix: string, command: string[], paths: string[]): string[] {
  const shown = paths.length > PATHS_SHOWN ? [...paths.slice(0, PATHS_SHOWN), `… and ${paths.length - PATHS_SHOWN} more`] : paths;
  return [what, `  ${fix}`, ...command.map((l) => `    ${l}`), '  Files:', ...shown.map((p) => `    ${p}`)];
}

const ruleText = (x: { source: string; line: number; pattern: string }) => `${x.source}:${x.line} ${code(x.pattern)}`;
const paths = (vs: Violation[]) => vs.map((v) => shellQuote(v.path));
const overLimit = (r: PolicyReport) => `over the ${r.maxFileMB} MB per-file limit (policy.maxFileMB; GitHub rejects larger files)`;

/**
 * Tracked run outputs of one glob as one `git rm` over pathspecs that spare the paper-facing
 * globs; undefined when a pathspec cannot say the globs, or would reach other violations' files.
 */
function rmByGlob(vs: Violation[], all: Violation[], r: PolicyReport): string | undefined {
  const glob = vs[0]!.glob!;
  const include = plainAlternatives(glob);
  const outputs = new Glob(glob);
  const exclude = r.tracked.filter((t) => mayOverlap(outputs, new Glob(t))).map(plainAlternatives);
  if (!include || exclude.some((x) => x === undefined)) return undefined;
  const mine = new Set(vs);
  if (all.some((o) => !mine.has(o) && outputs.matches(o.path))) return undefined;
  const specs = [...include.map((g) => `:(glob)${g}`), ...exclude.flat().map((g) => `:(exclude,glob)${g!}`)];
  return `git rm -r --cached --quiet -- ${specs.map(shellQuote).join(' ')}`;
}

/** The entry of several violations of one kind that share a fix. */
function grouped(vs: Violation[], all: Violation[], r: PolicyReport): string[] {
  const v = vs[0]!;
  const n = vs.length;
  const edits = vs.flatMap((x) => x.fix.gitignore);
  const then = (run: string) => (edits.length ? `${describeEdits(edits)}, then ${run}` : run);
  const already = r.alreadyIgnored.get(v.path);
  switch (v.kind) {
    case 'not-tracked': {
      const head = `${n} paper-facing files (policy.tracked ${unique(vs.map((x) => code(x.glob!))).join(', ')}) not tracked in git`;
      const add = wrapCommand(['git add --', ...paths(vs)]);
      const list = vs.map((x) => x.path);
      if (!edits.length) return entry(`${head} (no ignore rule hides them).`, 'Fix:', add, list);
      const by = unique(vs.map((x) => ruleText(x.ignoredBy!))).join(', ');
      const folders = unique(vs.flatMap((x) => (x.ignoredBy!.folder !== undefined ? [`${x.ignoredBy!.folder}/`] : [])));
      const direct = vs.some((x) => x.ignoredBy!.folder === undefined);
      const above = `${folders.length === 1 ? 'the folder' : 'the folders'} ${folders.join(', ')} above them`;
      const why = folders.length === 0
        ? `git ignores them by ${by}`
        : `git ignores ${direct ? `them, or ${above},` : above} by ${by} and never looks inside an ignored folder`;
      return entry(`${head}: ${why}.`, `Fix: ${then('run')}:`, add, list);
    }
    case 'not-ignored':
      return entry(
        `${n} run outputs (policy.ignored ${code(v.glob!)}) that git does not ignore, so \`git add -A\` would commit them.`,
        `Fix: ${describeEdits(edits)}`, [], vs.map((x) => x.path),
      );
    case 'tracked-output': {
      const byGlob = n >= COLLAPSE_AT ? rmByGlob(vs, all, r) : undefined;
      const rm = byGlob !== undefined ? [byGlob] : wrapCommand(['git rm --cached --', ...paths(vs)]);
      const size = (x: Violation) => (x.sizeBytes !== undefined && x.sizeBytes > r.maxFileMB * 1024 ** 2 ? ` (${mb(x.sizeBytes)}, over the ${r.maxFileMB} MB per-file limit)` : '');
      return entry(
        `${n} run outputs (policy.ignored ${code(v.glob!)}) tracked in git${already ? `; ${ruleText(already)} already ignores them` : ''}.`,
        `Fix: ${then('run')} (the files stay on disk):`, rm, vs.map((x) => `${x.path}${size(x)}`),
      );
    }
    case 'too-large': {
      const rm = wrapCommand(['git rm --cached --', ...paths(vs)]);
      const list = vs.map((x) => `${x.path} (${mb(x.sizeBytes!)})`);
      if (v.glob !== undefined) {
        return entry(
          `${n} tracked paper-facing files (policy.tracked ${code(v.glob)}) ${overLimit(r)}.`,
          `Fix: make them smaller than ${r.maxFileMB} MB; or publish them as release assets, drop ${code(v.glob)} from policy.tracked, and run:`, rm, list,
        );
      }
      return entry(
        `${n} tracked files ${overLimit(r)}${already ? `; ${ruleText(already)} already ignores them` : ''}.`,
        `Fix: ${then('run')} (the files stay on disk; publish them as release assets):`, rm, list,
      );
    }
  }
}

/**
 * The entries of one kind: a line per violation, or one entry per fix that several share. Fixes
 * that edit a line come first, per file from the bottom up, so the line numbers they name hold
 * when they are applied as printed; the rest follow in path order.
 */
function entries(vs: Violation[], r: PolicyReport): string[][] {
  const byFix = new Map<string, Violation[]>();
  for (const v of vs) {
    const key = fixKey(v, r);
    const same = byFix.get(key);
    if (same) same.push(v);
    else byFix.set(key, [v]);
  }
  const at = (g: Violation[]) => g[0]!.fix.gitignore.find((e) => e.line !== undefined);
  const anchored = [...byFix.values()].filter((g) => at(g));
  const files = unique(anchored.map((g) => at(g)!.file));
  anchored.sort((a, b) => files.indexOf(at(a)!.file) - files.indexOf(at(b)!.file) || at(b)!.line! - at(a)!.line!);
  const ordered = [...anchored, ...[...byFix.values()].filter((g) => !at(g))];
  return ordered.map((same) => (same.length === 1 ? [violationLine(same[0]!)] : grouped(same, vs, r)));
}

export function renderText(r: PolicyReport): string[] {
  const totals = `${plural(r.trackedPaperFacing, 'tracked paper-facing file', 'tracked paper-facing files')}, ${plural(r.ignoredOutputs, 'ignored output', 'ignored outputs')}`;
  if (r.violations.length === 0) return [`check: ${totals}, policy satisfied`];
  const out: string[] = [];
  const groups = new Map<ViolationKind, Violation[]>();
  for (const v of r.violations) {
    const g = groups.get(v.kind);
    if (g) g.push(v);
    else groups.set(v.kind, [v]);
  }
  for (const [kind, vs] of groups) {
    out.push(heading(kind, r));
    const all = entries(vs, r);
    for (const e of all.slice(0, GROUP_LIMIT)) for (const line of e) out.push(`  ${line}`);
    if (all.length > GROUP_LIMIT) out.push(`  … and ${all.length - GROUP_LIMIT} more like these (\`sbuild check --json\` lists them all)`);
    out.push('');
  }
  const parts = [...groups].map(([kind, vs]) => counted(kind, vs.length, r));
  out.push(`check: ${plural(r.violations.length, 'policy violation', 'policy violations')} (${parts.join(', ')}); ${totals}`);
  return out;
}

/**
 * The .gitignore edits of all fixes without repeats, in an order that applies as listed: per
 * file, edits at a line from the bottom up (so line numbers hold), then the lines to append.
 */
export function allEdits(r: PolicyReport): GitignoreEdit[] {
  const seen = new Set<string>();
  const edits: GitignoreEdit[] = [];
  for (const v of r.violations) {
    for (const e of v.fix.gitignore) {
      const key = JSON.stringify(e);
      if (!seen.has(key)) {
        seen.add(key);
        edits.push(e);
      }
    }
  }
  return inOrder(edits);
}

/** The JSON report: every violation with its fix, and all .gitignore edits in order. */
export function renderJson(r: PolicyReport): string {
  const gitignore = allEdits(r);
  return JSON.stringify({
    ok: r.violations.length === 0,
    trackedPaperFacing: r.trackedPaperFacing,
    ignoredOutputs: r.ignoredOutputs,
    maxFileMB: r.maxFileMB,
    violations: r.violations,
    gitignore,
  }, null, 2);
}
