// Running one target: its old outputs removed, its job started with the build's environment,
// and what it left hashed. Returns an outcome (outputs, or a Failure with its log), never
// text; a failure's partial outputs are moved to .sbuild/failed/<name>/ first.
import fs from 'node:fs';
import type { GraphNode } from '../graph/graph.js';
import type { Executor, Job, JobResult } from '../executors/executor.js';
import path from 'node:path';
import { normalizeRel, OutputEscape, prepareOutput } from '../util/fs.js';
import { inResumeFolder, outputsToSetAside, startResume } from './resume.js';
import { jobBinDir } from '../util/package-root.js';
import { createdFolders, listRunFolders, type RunFolderListing } from './run-folders.js';
import { ownerAbove } from '../graph/graph.js';
import type { Current } from './rebuilder.js';
import { LINEAGE_PREFIX } from './reasons.js';
import type { OutputRecord } from './lockfile.js';
import type { Workspace } from './workspace.js';
import { clearFailed, moveAside } from './failed.js';
import { withMoved, type Failure, type FailureLog } from './failure.js';
import { inputGuard, movedInput, type InputGuard } from './input-guard.js';

export type JobOutcome =
  /** `moved`: an input that changed while it ran (input-guard.ts): the result must not be recorded. */
  | { kind: 'ran'; outputs: Record<string, OutputRecord>; ms: number; moved?: string }
  /** Submitted to Slurm (or found still pending or running there) and not waited for: `--detach`. */
  | { kind: 'detached'; jobId: string; state: string; ms: number }
  | { kind: 'failed'; failure: Failure; log?: FailureLog; ms: number; warning?: string };

/** The facts a command job carries: none (it cannot read them). */
const NO_FACTS: Job['facts'] = Object.freeze({ hashes: {}, fingerprint: '', provenance: () => undefined, lineage: () => [] });

/** A job's `sbuild` (for `sbuild launch`) is the one running it, with the same Node.js. */
const BIN = jobBinDir();
const JOB_PATH = BIN === undefined ? {} : { PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}`, SBUILD_NODE: process.execPath };

export interface RunRequest {
  executor: Executor;
  gpus: string[];
  signal: AbortSignal;
  /** An in-process action's progress, for the renderer. */
  progress?: (text: string, line: boolean) => void;
}

export async function runJob(ws: Workspace, node: GraphNode, cur: Current, req: RunRequest): Promise<JobOutcome> {
  const root = ws.root;
  const t0 = performance.now();
  let result: JobResult;
  const listed: { before?: RunFolderListing } = {};
  let guard: InputGuard | undefined;
  try {
    // A job of another fingerprint that an earlier build submitted may still write here.
    const earlier = await req.executor.waitForEarlier?.(root, node, cur.fingerprint, req.signal);
    if (earlier) result = earlier;
    else {
      guard = inputGuard(ws, cur);
      result = await start(ws, node, cur, req, listed);
    }
  } catch (err) {
    // An output that resolves outside the workspace is the config's problem, said in full by its message.
    result = { ok: false, reason: 'threw', message: (err as Error).message, command: node.name, ...(err instanceof OutputEscape ? { badInput: true } : {}) };
  }
  // Stopped while following a job that is still journaled (not cancelled: not ours, or Ctrl-C
  // could not reach it): what it writes is left to the build that attaches to it next.
  if (!result.ok && result.reason !== 'detached' && (req.executor.attachable?.(root, node) ?? false)) {
    for (const o of node.outputs) ws.hasher.forget(o);
    return { kind: 'failed', failure: failureOf(result), ms: performance.now() - t0 };
  }
  const out = outcome(ws, node, result, performance.now() - t0, result.ok ? createdFolders(root, node, listed.before) : []);
  if (out.kind === 'ran' && guard) {
    const moved = movedInput(root, guard);
    if (moved !== undefined) out.moved = moved;
  }
  return out;
}

/** Its outputs prepared (or left to the job attached to), then the job run. */
async function start(ws: Workspace, node: GraphNode, cur: Current, req: RunRequest, listed: { before?: RunFolderListing }): Promise<JobResult> {
  const root = ws.root;
  // A job an earlier build submitted (a detached Slurm job) is attached to: what it wrote, or
  // is writing, stays where it is.
  const attaching = req.executor.attachable?.(root, node, cur.fingerprint) ?? false;
  // A resumable job's folder: kept for this fingerprint's unfinished work, else set aside (resume.ts).
  const resume = node.resume && !attaching ? startResume(root, ws.graph, node, cur.fingerprint) : undefined;
  if (node.resume) {
    ws.hasher.forget(node.resume.dir);
    ws.rebuilder.outputsWritten([node.resume.dir]);
  }
  // Outputs are removed first: a command that fails to write one must not leave an old copy
  // looking produced. Those in a resumed folder are the unfinished run's, which it continues.
  for (const o of node.outputs) {
    if (attaching || (resume?.resuming && inResumeFolder(node, o))) ensureParent(root, o);
    else prepareOutput(root, o, node.name); // refuses (the target fails) an output that resolves outside the workspace
    ws.hasher.forget(o);
  }
  ws.rebuilder.outputsWritten(node.outputs);
  // What the run folders hold now: what the run adds there is recorded with its outputs.
  listed.before = listRunFolders(root, node);
  const ids = req.gpus.join(',');
  return await req.executor.run({
    node, root, gpus: req.gpus, fingerprint: cur.fingerprint,
    ...(resume ? { args: resume.resuming ? node.resume!.args : [], notes: resume.notes } : {}),
    env: {
      ...process.env, ...JOB_PATH, CUDA_VISIBLE_DEVICES: ids, SBUILD_GPU_IDS: ids, SBUILD_TARGET: node.name, SBUILD_ROOT: root,
      ...(resume ? { SBUILD_RESUME: resume.resuming ? '1' : '0', SBUILD_RESUME_DIR: node.resume!.dir } : {}),
    },
    logFile: ws.logFile(node.name),
    ...(req.progress ? { progress: req.progress } : {}),
    inputs: Object.keys(cur.record.inputs).filter((p) => !p.startsWith(LINEAGE_PREFIX)).map((p) => p.replace(/\/$/, '')),
    signal: req.signal,
    // Only in-process actions read these; commands do not pay for them.
    facts: typeof node.target.run === 'function' ? factsFor(ws, node, cur) : NO_FACTS,
  });
}

/** What the job's result means for the target: outputs hashed, or a failure with its partial outputs set aside. */
function outcome(ws: Workspace, node: GraphNode, result: JobResult, ms: number, runFolders: string[]): JobOutcome {
  const root = ws.root;
  if (!result.ok && result.reason === 'detached') {
    if (node.resume) ws.hasher.forget(node.resume.dir);
    for (const o of node.outputs) ws.hasher.forget(o);
    return { kind: 'detached', jobId: result.jobId, state: result.state, ms };
  }
  if (!result.ok) {
    // Bad input is said in full by its message; the log would only repeat it.
    if (result.reason === 'threw' && result.badInput) return { ...setAside(ws, node, { kind: 'bad-input', message: result.message }), ms };
    return { ...setAside(ws, node, failureOf(result)), log: logOf(ws, node, result.command), ms };
  }
  const { outputs, notProduced } = ws.rebuilder.hashOutputs(node, runFolders);
  if (notProduced.length) return { ...setAside(ws, node, { kind: 'not-produced', paths: notProduced }), ms };
  clearFailed(root, node.name);
  return { kind: 'ran', outputs, ms };
}

/** A job's failed result as a Failure (a detached one is not a failure: callers take it apart first). */
export function failureOf(result: Exclude<JobResult, { ok: true } | { reason: 'detached' }>): Failure {
  return result.reason === 'exit' ? { kind: 'exit', exitCode: result.exitCode }
    : result.reason === 'signal' ? { kind: 'signal', signal: result.signal }
    : result.reason === 'spawn' ? { kind: 'spawn', message: result.message }
    : { kind: 'threw', message: result.message };
}

/** The folder of an output left in place (a resumed run's), made if missing. */
function ensureParent(root: string, rel: string): void {
  fs.mkdirSync(path.dirname(path.resolve(root, rel)), { recursive: true });
}

/** A failed target's partial outputs go aside, so its declared outputs are absent; the failure says where. */
function setAside(ws: Workspace, node: GraphNode, failure: Failure): { kind: 'failed'; failure: Failure; warning?: string } {
  try {
    // A resumable job's folder stays: it is the partial work the next run of it continues.
    const dir = moveAside(ws.root, node.name, outputsToSetAside(node));
    for (const o of node.outputs) ws.hasher.forget(o);
    ws.rebuilder.outputsWritten(node.outputs);
    return { kind: 'failed', failure: withMoved(failure, dir) };
  } catch (err) {
    return { kind: 'failed', failure, warning: `could not move the partial outputs of '${node.name}' aside: ${(err as Error).message}` };
  }
}

/** The command, its log and the log's last 20 lines. */
function logOf(ws: Workspace, node: GraphNode, command: string): FailureLog {
  const logFile = ws.logFile(node.name);
  try {
    const logTail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-21).join('\n').trimEnd();
    return { command, logFile, logTail };
  } catch {
    return { command, logFile };
  }
}

/** Input hashes and provenance handed to an in-process action. */
function factsFor(ws: Workspace, node: GraphNode, cur: Current): Job['facts'] {
  const { graph, lock } = ws;
  const hashes: Record<string, string> = {};
  for (const [p, h] of Object.entries(cur.record.inputs)) if (!p.startsWith(LINEAGE_PREFIX)) hashes[p.replace(/\/$/, '')] = h;
  const of = (name: string) => {
    const fp = lock.entries.get(name)?.fingerprint;
    return fp === undefined ? undefined : { target: name, fingerprint: fp };
  };
  return {
    hashes,
    fingerprint: cur.fingerprint,
    provenance: (rel) => {
      const owner = ownerAbove(graph.outputOwner, normalizeRel(ws.root, rel) ?? rel);
      return owner === undefined ? undefined : of(graph.nodes[owner]!.name);
    },
    lineage: () => ws.rebuilder.lineageOf(node).map(of).filter((x) => x !== undefined),
  };
}
