// A policy report as text (one line per violation, grouped, then a summary) or as JSON.
import { shellQuote, type PolicyReport, type Violation, type ViolationKind } from './evaluate.js';
import { describeEdit, type GitignoreEdit } from './gitignore.js';
import { Glob, mayOverlap, plainAlternatives } from './globs.js';

/** Lines shown per group; the rest are counted (and all listed by --json). */
export const GROUP_LIMIT = 50;

/** Run outputs under one policy glob with one fix are shown as one line from this many on. */
export const COLLAPSE_AT = 4;

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

/**
 * Run outputs that share a policy glob and a .gitignore fix, as one line: the first path, the
 * count, and one fix for all (for tracked ones, a `git rm` over pathspecs that spare the
 * paper-facing globs); undefined when a pathspec cannot say the globs.
 */
function collapsed(vs: Violation[], r: PolicyReport): string | undefined {
  const v = vs[0]!;
  const head = `${v.path} and ${vs.length - 1} more: run outputs (policy.ignored \`${v.glob}\`)`;
  const edit = v.fix.gitignore[0];
  if (v.kind === 'not-ignored') return `${head} that git does not ignore, so \`git add -A\` would commit them. Fix: ${describeEdit(edit!)}`;
  const include = plainAlternatives(v.glob!);
  const outputs = new Glob(v.glob!);
  const exclude = r.tracked.filter((t) => mayOverlap(outputs, new Glob(t))).map(plainAlternatives);
  if (!include || exclude.some((x) => x === undefined)) return undefined;
  const specs = [...include.map((g) => `:(glob)${g}`), ...exclude.flat().map((g) => `:(exclude,glob)${g!}`)];
  const rm = `git rm -r --cached --quiet -- ${specs.map(shellQuote).join(' ')}`;
  return `${head} tracked in git. Fix: ${rm} (the files stay on disk)${edit ? `, and ${describeEdit(edit)}` : '; git already ignores them'}`;
}

/** The lines of one group: one per violation, or per shared fix for many run outputs. */
function groupLines(vs: Violation[], r: PolicyReport): string[] {
  if (vs[0]!.kind !== 'not-ignored' && vs[0]!.kind !== 'tracked-output') return vs.map(violationLine);
  const byFix = new Map<string, Violation[]>();
  for (const v of vs) {
    const key = `${v.glob}\0${JSON.stringify(v.fix.gitignore)}`;
    const same = byFix.get(key);
    if (same) same.push(v);
    else byFix.set(key, [v]);
  }
  const lines: string[] = [];
  for (const same of byFix.values()) {
    const one = same.length >= COLLAPSE_AT ? collapsed(same, r) : undefined;
    if (one) lines.push(one);
    else lines.push(...same.map(violationLine));
  }
  return lines;
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
    const lines = groupLines(vs, r);
    for (const line of lines.slice(0, GROUP_LIMIT)) out.push(`  ${line}`);
    if (lines.length > GROUP_LIMIT) out.push(`  … and ${lines.length - GROUP_LIMIT} more like these (\`sbuild check --json\` lists them all)`);
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
  const files = [...new Set(edits.map((e) => e.file))];
  return edits.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file) || (b.line ?? -1) - (a.line ?? -1));
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
