// The policy check itself: every file on disk or in git, classified by the policy's globs and
// git's view (tracked / ignored / would be added), each violation with the fix that ends it.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/types.js';
import { GlobList, type Glob } from './globs.js';
import { walkFiles } from './walk.js';
import { listFiles, checkIgnore, workTreeTop, type IgnoreRule } from './git.js';
import { IgnoreFiles, describeEdit, type GitignoreEdit } from './gitignore.js';

export type Policy = NonNullable<Config['policy']>;

/** GitHub's per-file limit. */
export const DEFAULT_MAX_FILE_MB = 100;

export type ViolationKind = 'not-tracked' | 'tracked-output' | 'not-ignored' | 'too-large';

export interface Violation {
  kind: ViolationKind;
  /** Workspace-relative path. */
  path: string;
  /** What is wrong, in one sentence (without the path). */
  message: string;
  /** The policy glob the path matched (policy.tracked for not-tracked, policy.ignored otherwise). */
  glob?: string;
  /** The ignore rule that hides a paper-facing file; `folder` when it ignores a folder above it. */
  ignoredBy?: { source: string; line: number; pattern: string; folder?: string };
  sizeBytes?: number;
  fix: {
    /** The fix in words: commands and .gitignore lines. */
    text: string;
    /** Shell commands to run in the workspace root, in order (after the .gitignore edits). */
    commands: string[];
    gitignore: GitignoreEdit[];
  };
}

export interface PolicyReport {
  /** Tracked files that match policy.tracked. */
  trackedPaperFacing: number;
  /** Untracked, git-ignored files that match policy.ignored. */
  ignoredOutputs: number;
  maxFileMB: number;
  /** The policy's tracked globs (for fixes that must spare them). */
  tracked: string[];
  violations: Violation[];
  /**
   * Tracked files (run outputs, large files) that an ignore rule already covers, by path: the
   * rule. Not in the JSON report; the text report groups the files one rule covers.
   */
  alreadyIgnored: Map<string, { source: string; line: number; pattern: string }>;
}

const ORDER: ViolationKind[] = ['not-tracked', 'tracked-output', 'not-ignored', 'too-large'];

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(bytes < 1024 ** 2 ? 3 : 1)} MB`;

export function evaluatePolicy(root: string, policy: Policy): PolicyReport {
  const top = workTreeTop(root);
  const tracked = new GlobList(policy.tracked ?? []);
  const ignored = new GlobList(policy.ignored ?? []);
  const maxFileMB = policy.maxFileMB ?? DEFAULT_MAX_FILE_MB;
  const limit = maxFileMB * 1024 ** 2;
  const files = new IgnoreFiles(root, top);

  const git = listFiles(root);
  const disk = walkFiles(root, (dir) => tracked.mayMatchBelow(dir) || ignored.mayMatchBelow(dir));
  const all = new Set([...disk, ...git.tracked, ...git.untracked]);

  let trackedPaperFacing = 0;
  let ignoredOutputs = 0;
  const hidden: Array<{ rel: string; glob: Glob }> = []; // paper-facing, untracked, git-ignored
  const found: Violation[] = [];
  const alreadyIgnored: PolicyReport['alreadyIgnored'] = new Map();
  const trackedOutputs: Array<{ rel: string; glob: Glob; size: number | undefined }> = [];
  const large: Array<{ rel: string; size: number; paper: Glob | undefined }> = [];
  const sizeOf = (rel: string) => fs.lstatSync(path.join(root, rel), { throwIfNoEntry: false })?.size;

  const show = (r: IgnoreRule) => {
    const at = files.locate(r);
    return { source: files.display(at.abs), line: r.line, pattern: r.pattern };
  };

  function addPaper(rel: string, glob: Glob, rule: IgnoreRule | undefined, folder: string | undefined): Violation {
    const add = `git add -- ${shellQuote(rel)}`;
    const what = `paper-facing (policy.tracked \`${glob.source}\`) but not tracked in git`;
    if (!rule) return { kind: 'not-tracked', path: rel, glob: glob.source, message: what, fix: { text: add, commands: [add], gitignore: [] } };
    const by = show(rule);
    const edit = files.reincludeEdit(rel, glob, rule, folder);
    const why = folder === undefined
      ? `git ignores it by ${by.source}:${by.line} \`${by.pattern}\``
      : `git ignores the folder ${folder}/ above it by ${by.source}:${by.line} \`${by.pattern}\` and never looks inside an ignored folder`;
    return {
      kind: 'not-tracked', path: rel, glob: glob.source, message: `${what}: ${why}`,
      ignoredBy: folder === undefined ? by : { ...by, folder },
      fix: { text: '', commands: [add], gitignore: [edit] }, // text: once edits of one rule are merged
    };
  }

  for (const rel of all) {
    const paper = tracked.match(rel);
    const output = paper ? undefined : ignored.match(rel);
    const isTracked = git.tracked.has(rel);
    if (isTracked) {
      const size = sizeOf(rel);
      if (output) trackedOutputs.push({ rel, glob: output, size });
      else if (size !== undefined && size > limit) large.push({ rel, size, paper });
      if (paper) trackedPaperFacing++;
      continue;
    }
    if (paper) {
      if (git.untracked.has(rel)) found.push(addPaper(rel, paper, undefined, undefined));
      else hidden.push({ rel, glob: paper });
    } else if (output) {
      if (git.untracked.has(rel)) {
        const edit: GitignoreEdit = { file: files.display(files.main), action: 'append', lines: files.ignoreLines(output, rel, tracked.globs) };
        found.push({
          kind: 'not-ignored', path: rel, glob: output.source,
          message: `a run output (policy.ignored \`${output.source}\`) that git does not ignore, so \`git add -A\` would commit it`,
          fix: { text: describeEdit(edit), commands: [], gitignore: [edit] },
        });
      } else ignoredOutputs++;
    }
  }

  // One check-ignore for everything whose ignore rule matters: hidden paper-facing files and
  // the folders above them, tracked outputs and large files (ignored or not by the patterns).
  const ask: string[] = [];
  for (const { rel } of hidden) {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) ask.push(parts.slice(0, i).join('/'));
    ask.push(rel);
  }
  for (const { rel } of trackedOutputs) ask.push(rel);
  for (const { rel } of large) ask.push(rel);
  const rules = checkIgnore(root, ask);

  for (const { rel, glob } of hidden) {
    const parts = rel.split('/');
    let folder: string | undefined;
    for (let i = 1; i < parts.length && folder === undefined; i++) {
      const dir = parts.slice(0, i).join('/');
      if (rules.has(dir)) folder = dir;
    }
    const rule = folder !== undefined ? rules.get(folder) : rules.get(rel);
    found.push(addPaper(rel, glob, rule, folder));
  }

  // Files hidden by one rule share one edit of it: a second edit of the same line could not apply.
  const shared = new Map<string, GitignoreEdit>();
  for (const v of found) {
    const e = v.kind === 'not-tracked' ? v.fix.gitignore[0] : undefined;
    if (!e) continue;
    const key = `${e.file}\0${e.action}\0${e.line ?? ''}`;
    const first = shared.get(key);
    if (!first) shared.set(key, e);
    else {
      for (const l of e.lines) if (!first.lines.includes(l)) first.lines.push(l);
      v.fix.gitignore[0] = first;
    }
  }
  for (const v of found) {
    const e = v.kind === 'not-tracked' ? v.fix.gitignore[0] : undefined;
    if (e) v.fix.text = `${describeEdit(e)}, then ${v.fix.commands[0]}`;
  }

  for (const { rel, glob, size } of trackedOutputs) {
    const rm = `git rm --cached -- ${shellQuote(rel)}`;
    const over = size !== undefined && size > limit ? `, and at ${mb(size)} it is over the ${maxFileMB} MB per-file limit` : '';
    const rule = rules.get(rel);
    if (rule) alreadyIgnored.set(rel, show(rule));
    const edits: GitignoreEdit[] = rule ? [] : [{ file: files.display(files.main), action: 'append', lines: files.ignoreLines(glob, rel, tracked.globs) }];
    const tail = rule ? `; ${show(rule).source}:${rule.line} \`${rule.pattern}\` already ignores it` : `, and ${describeEdit(edits[0]!)}`;
    found.push({
      kind: 'tracked-output', path: rel, glob: glob.source, ...(size !== undefined ? { sizeBytes: size } : {}),
      message: `a run output (policy.ignored \`${glob.source}\`) tracked in git${over}`,
      fix: { text: `${rm} (the file stays on disk)${tail}`, commands: [rm], gitignore: edits },
    });
  }

  for (const { rel, size, paper } of large) {
    const rm = `git rm --cached -- ${shellQuote(rel)}`;
    const message = `tracked, ${mb(size)}, over the ${maxFileMB} MB per-file limit (policy.maxFileMB; GitHub rejects larger files)`;
    if (paper) {
      found.push({
        kind: 'too-large', path: rel, glob: paper.source, sizeBytes: size, message,
        fix: { text: `make it smaller than ${maxFileMB} MB; or publish it as a release asset, drop it from policy.tracked (\`${paper.source}\`), and ${rm}`, commands: [], gitignore: [] },
      });
      continue;
    }
    const rule = rules.get(rel);
    if (rule) alreadyIgnored.set(rel, show(rule));
    const edits: GitignoreEdit[] = rule ? [] : [{ file: files.display(files.main), action: 'append', lines: [files.literal(rel, root)] }];
    const tail = rule ? `; ${show(rule).source}:${rule.line} \`${rule.pattern}\` already ignores it` : `, and ${describeEdit(edits[0]!)}`;
    found.push({
      kind: 'too-large', path: rel, sizeBytes: size, message,
      fix: { text: `${rm} (the file stays on disk; publish it as a release asset)${tail}`, commands: [rm], gitignore: edits },
    });
  }

  found.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { trackedPaperFacing, ignoredOutputs, maxFileMB, tracked: tracked.globs.map((g) => g.source), violations: found, alreadyIgnored };
}
