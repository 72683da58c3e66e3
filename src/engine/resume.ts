// Resumable jobs (a target's `resume`): a training that writes checkpoints may continue where
// an interrupted run of it stopped, but only a run of the same fingerprint. Whatever is in
// the target's resume folder belongs to the fingerprint named by its stamp,
// `.sbuild/resume/<target>.json` ({ fingerprint, dir, state }):
//
// - Before a run, the folder is kept only when the stamp names this fingerprint and says
//   `running` (an earlier run of it did not finish). Otherwise its content is set aside,
//   partial work of another fingerprint to `.sbuild/partial/<target>/<fingerprint>/`,
//   anything else (a finished run's leftovers, files of unknown origin) to
//   `.sbuild/partial/<target>/old/`, and this fingerprint's own partial work, if some was set
//   aside earlier (a config changed and changed back), is moved back. So a command never
//   sees another fingerprint's checkpoints, and a config edit starts from scratch.
// - The stamp says `running` before the command starts, and `done` only once its outputs are
//   recorded; a crash, a kill, Ctrl-C or Slurm's time limit leave it `running`, and the
//   folder in place (it is not moved to .sbuild/failed/ like other partial outputs).
// - The command is told to resume (`resume.args` appended, SBUILD_RESUME=1) when the kept
//   folder holds the marker (`last_checkpoint`) or, without one, any file.
// - Restoring the target's outputs from the cache also sets the folder's content aside when
//   it belongs to another fingerprint, and stamps it `done`.
//
// Other targets' declared outputs inside the folder (evaluations writing their metrics into
// the work dir) are never moved. Set-aside folders on another file system than .sbuild (a
// linked scratch folder) are deleted instead: copying checkpoints would cost their size
// again. `sbuild gc` removes `.sbuild/partial/`.
import fs from 'node:fs';
import path from 'node:path';
import type { Graph, GraphNode } from '../graph/graph.js';
import type { ResumeSpec } from '../config/validate.js';
import { escapeMessage, lexists, outputEscape, OutputEscape, writeFileAtomic } from '../util/fs.js';
import { partialDir, resumeStampPath, targetSegment } from './state-paths.js';

interface Stamp {
  fingerprint: string;
  dir: string;
  state: 'running' | 'done';
}

export interface ResumeStart {
  /** The command continues this fingerprint's partial work (its args are appended). */
  resuming: boolean;
  /** What was set aside or brought back, one line each, for the target's log. */
  notes: string[];
}

function readStamp(root: string, name: string): Stamp | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(resumeStampPath(root, name), 'utf8')) as Stamp;
    if (typeof s?.fingerprint === 'string' && typeof s.dir === 'string' && (s.state === 'running' || s.state === 'done')) return s;
  } catch {
    // none, or torn: treated as unknown work (set aside, never resumed)
  }
  return undefined;
}

function writeStamp(root: string, name: string, stamp: Stamp): void {
  const file = resumeStampPath(root, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(stamp) + '\n');
}

/** Outputs of other targets that lie inside `dir`: left where they are. */
function othersInside(graph: Graph, node: GraphNode, dir: string): Set<string> {
  const keep = new Set<string>();
  for (const [out, owner] of graph.outputOwner) {
    if (owner !== node.id && out.startsWith(`${dir}/`)) keep.add(out);
  }
  return keep;
}

/**
 * Moves the content of `from` (workspace-relative `rel`) into `to`, except the paths in `keep`
 * and the folders leading to them. Returns whether anything moved (or, across file systems,
 * was deleted).
 */
function moveContent(from: string, rel: string, to: string, keep: Set<string>): boolean {
  let entries: string[];
  try {
    entries = fs.readdirSync(from);
  } catch {
    return false;
  }
  let moved = false;
  for (const e of entries) {
    const childRel = `${rel}/${e}`;
    if (keep.has(childRel)) continue;
    const src = path.join(from, e);
    const dst = path.join(to, e);
    if ([...keep].some((k) => k.startsWith(`${childRel}/`))) {
      moved = moveContent(src, childRel, dst, keep) || moved;
      continue;
    }
    fs.mkdirSync(to, { recursive: true });
    fs.rmSync(dst, { recursive: true, force: true });
    try {
      fs.renameSync(src, dst);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // The work folder is a linked folder on another device: copied, then removed, so the
      // partial work can still be taken back (slower, but never lost).
      fs.cpSync(src, dst, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      fs.rmSync(src, { recursive: true, force: true });
    }
    moved = true;
  }
  return moved;
}

/** Whether the folder holds something to resume from: the marker, or without one any file not kept. */
function hasPartialWork(abs: string, rel: string, spec: ResumeSpec, keep: Set<string>): boolean {
  if (spec.marker !== undefined) return lexists(path.join(abs, spec.marker));
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(abs, { withFileTypes: true });
  } catch {
    return false;
  }
  return entries.some((e) => {
    const childRel = `${rel}/${e.name}`;
    if (keep.has(childRel)) return false;
    return e.isDirectory() ? hasPartialWork(path.join(abs, e.name), childRel, { ...spec, marker: undefined }, keep) : true;
  });
}

/** Refuses a resume folder that resolves outside the workspace (as a declared output would be). */
function confined(root: string, node: GraphNode, dir: string): void {
  const e = outputEscape(root, dir);
  if (e) throw new OutputEscape(e, escapeMessage(e, root, `refusing to keep or set aside the resume folder '${dir}' of target '${node.name}'`));
}

/** Sets the folder's content aside unless it is this fingerprint's unfinished work; brings that back when it was set aside. */
function settle(root: string, graph: Graph, node: GraphNode, fingerprint: string): { keep: Set<string>; notes: string[]; kept: boolean } {
  const spec = node.resume!;
  const dir = spec.dir;
  confined(root, node, dir);
  const abs = path.join(root, dir);
  const stamp = readStamp(root, node.name);
  const keep = othersInside(graph, node, dir);
  const notes: string[] = [];
  const stash = path.join(partialDir(root), targetSegment(node.name));
  const shown = (p: string) => path.relative(root, p).split(path.sep).join('/') + '/';
  if (stamp && stamp.dir === dir && stamp.fingerprint === fingerprint && stamp.state === 'running') return { keep, notes, kept: true };
  const resumable = stamp !== undefined && stamp.dir === dir && stamp.state === 'running';
  const aside = path.join(stash, resumable ? stamp!.fingerprint : 'old');
  fs.rmSync(aside, { recursive: true, force: true });
  if (moveContent(abs, dir, aside, keep)) {
    notes.push(resumable
      ? `the partial work of fingerprint ${stamp!.fingerprint.slice(0, 12)} in ${dir}/ was set aside to ${shown(aside)} (a run of that fingerprint takes it back)`
      : `what ${dir}/ held (${stamp ? `a finished run of fingerprint ${stamp.fingerprint.slice(0, 12)}` : 'of no recorded run'}) was set aside to ${shown(aside)}`);
  }
  const mine = path.join(stash, fingerprint);
  if (lexists(mine)) {
    // Never over another target's output: anything at such a path in the set-aside work goes.
    moveContent(mine, dir, abs, keep);
    fs.rmSync(mine, { recursive: true, force: true });
    notes.push(`the partial work of this fingerprint (${fingerprint.slice(0, 12)}) was moved back into ${dir}/`);
  }
  return { keep, notes, kept: false };
}

/** Before the command starts: the folder settled, the stamp `running`; whether to resume. */
export function startResume(root: string, graph: Graph, node: GraphNode, fingerprint: string): ResumeStart {
  const spec = node.resume!;
  const { keep, notes } = settle(root, graph, node, fingerprint);
  writeStamp(root, node.name, { fingerprint, dir: spec.dir, state: 'running' });
  const resuming = hasPartialWork(path.join(root, spec.dir), spec.dir, spec, keep);
  notes.push(resuming ? `resuming the partial work of this fingerprint in ${spec.dir}/` : `starting from scratch in ${spec.dir}/`);
  return { resuming, notes };
}

/**
 * What the next run of a resumable target would do with its folder, in words (for `status`
 * and `explain`); reads only, changes nothing.
 */
export function resumeOutlook(root: string, graph: Graph, node: GraphNode, fingerprint: string): string | undefined {
  const spec = node.resume;
  if (!spec) return undefined;
  const stamp = readStamp(root, node.name);
  const keep = othersInside(graph, node, spec.dir);
  if (stamp && stamp.dir === spec.dir && stamp.fingerprint === fingerprint && stamp.state === 'running') {
    return hasPartialWork(path.join(root, spec.dir), spec.dir, spec, keep)
      ? `would resume the unfinished run of this fingerprint in ${spec.dir}/${spec.args.length ? ` (${spec.args.join(' ')})` : ''}`
      : `would start from scratch in ${spec.dir}/ (its unfinished run left nothing to resume from${spec.marker ? `: no ${spec.marker}` : ''})`;
  }
  if (lexists(path.join(partialDir(root), targetSegment(node.name), fingerprint))) return `would take back this fingerprint's partial work from .sbuild/partial/ and resume it`;
  const other = stamp && stamp.state === 'running' && stamp.fingerprint !== fingerprint;
  return `would start from scratch${other ? `; the unfinished run of fingerprint ${stamp!.fingerprint.slice(0, 12)} in ${spec.dir}/ is set aside first, never resumed by this one` : ''}`;
}

/** The run finished and its outputs are recorded: nothing in the folder is partial any more. */
export function finishResume(root: string, node: GraphNode, fingerprint: string): void {
  writeStamp(root, node.name, { fingerprint, dir: node.resume!.dir, state: 'done' });
}

/**
 * Before outputs of `fingerprint` are restored into the folder: another fingerprint's work
 * goes aside first. The stamp says `done` only once the restore succeeded (finishResume): a
 * restore that fails leaves this fingerprint's unfinished work resumable.
 */
export function beforeRestore(root: string, graph: Graph, node: GraphNode, fingerprint: string): void {
  const stamp = readStamp(root, node.name);
  if (stamp && stamp.dir === node.resume!.dir && stamp.fingerprint === fingerprint) return;
  settle(root, graph, node, fingerprint);
  // What is in the folder now is this fingerprint's (its own work moved back, or nothing).
  writeStamp(root, node.name, { fingerprint, dir: node.resume!.dir, state: 'running' });
}

/** A declared output the folder keeps across a failure (it is the partial work), so it is not moved to .sbuild/failed/. */
export function outputsToSetAside(node: GraphNode): string[] {
  const dir = node.resume?.dir;
  if (dir === undefined) return node.outputs;
  return node.outputs.filter((o) => !(o === dir || o.startsWith(`${dir}/`)));
}

/** Whether a declared output lies in the folder a resumed run continues in (left in place for it). */
export function inResumeFolder(node: GraphNode, output: string): boolean {
  const dir = node.resume?.dir;
  return dir !== undefined && (output === dir || output.startsWith(`${dir}/`));
}

/** `sbuild gc`: every set-aside partial work removed; how many folders and bytes. */
export function removePartial(root: string): { folders: number; bytes: number } {
  const top = partialDir(root);
  const size = (p: string): number => {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) return 0;
    if (!st.isDirectory()) return st.size;
    return fs.readdirSync(p).reduce((n, e) => n + size(path.join(p, e)), 0);
  };
  let folders = 0;
  let bytes = 0;
  const targets = fs.existsSync(top) ? fs.readdirSync(top, { withFileTypes: true }).filter((e) => e.isDirectory()) : [];
  for (const t of targets) {
    for (const f of fs.readdirSync(path.join(top, t.name))) {
      bytes += size(path.join(top, t.name, f));
      folders++;
    }
  }
  fs.rmSync(top, { recursive: true, force: true });
  return { folders, bytes };
}
