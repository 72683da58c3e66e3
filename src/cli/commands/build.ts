// `sbuild [targets…]`: build the selection, or with -n print what would run and why.
import { select } from '../../graph/select.js';
import type { GraphNode } from '../../graph/graph.js';
import { Scheduler, type BuildOptions } from '../../engine/scheduler.js';
import { plan } from '../../engine/plan.js';
import { roots, selection, type Selection } from '../../engine/selection.js';
import type { Workspace } from '../../engine/workspace.js';
import type { Listener } from '../../engine/events.js';
import { LocalExecutor, defaultJobs } from '../../executors/local.js';
import { plainRenderer, jsonRenderer } from '../../ui/plain.js';
import { deltaHolds, removeSnapshot, snapshotKey, writeSnapshot, type SnapshotDelta } from '../../engine/noop-snapshot.js';
import { selectionKey, snapshotEligible } from './noop.js';
import { cleanTargets } from '../../engine/dirty.js';
import { phase } from '../../util/timing.js';
import type { Options } from '../args.js';
import { beginBuild } from './writing.js';
import { anyBuilds } from '../../engine/live-builds.js';
import { remoteFor } from '../../cache/setup.js';
import { readSubmitted } from '../../executors/slurm-jobs.js';

/** Which targets run on Slurm: --executor, else the target's own `executor`, else the selectors. */
export async function slurmOptions(ws: Workspace, opts: Options): Promise<Pick<BuildOptions, 'slurm'>> {
  const cfg = ws.config.slurm;
  const selectors = [...(cfg?.select ?? []), ...opts.slurm];
  const chosen = new Set<number>();
  for (const id of selectors.length ? select(ws.graph, selectors) : []) {
    const n = ws.graph.nodes[id]!;
    // A group selects what it names (through nested groups), not what those depend on.
    const stack = [n];
    while (stack.length) {
      const m = stack.pop()!;
      if (!m.group) chosen.add(m.id);
      else for (const d of m.deps) stack.push(ws.graph.nodes[d]!);
    }
  }
  // A target with a job an earlier build submitted goes to Slurm whatever is asked now: the
  // Slurm executor attaches to that job (or waits for it) instead of starting another.
  const journaled = new Set(readSubmitted(ws.root).map((j) => j.target));
  const onSlurm = (node: GraphNode): boolean => {
    if (node.group || typeof node.target.run === 'function') return false;
    if (journaled.has(node.name)) return true;
    if (opts.executor) return opts.executor === 'slurm';
    if (node.target.executor) return node.target.executor === 'slurm';
    return chosen.has(node.id);
  };
  if (!ws.graph.nodes.some(onSlurm)) {
    if (opts.detach) process.stderr.write('note: --detach: no target of this config runs on Slurm, so every job is waited for.\n');
    return {};
  }
  const { SlurmExecutor } = await import('../../executors/slurm.js');
  return { slurm: { executor: new SlurmExecutor(cfg, undefined, opts.detach), onSlurm, maxJobs: opts.maxJobs ?? cfg?.maxJobs ?? Infinity, journaled } };
}

/** `delta`: what changed since the last all-fresh build of this selection (judge only what it touches). */
export async function build(ws: Workspace, opts: Options, out: (s: string) => void, delta?: SnapshotDelta): Promise<number> {
  const sel = selection(ws.graph, roots(ws, opts.targets, false), opts.force);
  if (opts.dryRun) return dryRun(ws, sel, opts, out);
  const jobs = opts.jobs ?? defaultJobs();
  let listener: Listener;
  let close = async () => {};
  if (opts.json) listener = jsonRenderer(out);
  else if (process.stdout.isTTY && !process.env.CI && !opts.quiet) {
    const tty = await (await import('../../ui/tty.js')).ttyRenderer(jobs, out);
    listener = tty.listener;
    close = tty.close;
  } else listener = plainRenderer(out, { quiet: opts.quiet, verbose: opts.verbose });
  ws.remote = remoteFor(ws.config, { url: opts.remoteCache, upload: opts.remoteUpload }, (message) => listener({ type: 'warning', message }));
  // Planned under the state lock, against sbuild.lock and the journals of the builds under way
  // (then the snapshot's delta holds only if no other build recorded anything since).
  let judgedClean: Set<number> | undefined;
  const { session, plan: planned, recovered } = await beginBuild(ws, opts, () => {
    // Another build under way (or one that waited for one) changes files the delta does not know of.
    judgedClean = delta && !anyBuilds(ws.root) && deltaHolds(ws.root, delta) ? cleanTargets(ws.graph, sel, delta) : undefined;
    if (delta) phase('dirty set');
    return plan(ws, sel, judgedClean, true);
  });
  const clean = judgedClean;
  for (const w of ws.warnings) listener({ type: 'warning', message: w });
  if (recovered) listener({ type: 'warning', message: recovered });
  phase(`plan (${planned.judged}/${planned.steps.size} judged)`);
  let ended = false;
  // A signal before the scheduler exists (while the executors are set up) interrupts it at once.
  let pending: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => (scheduler ? scheduler.interrupt(sig) : (pending = sig));
  let scheduler: Scheduler | undefined;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    scheduler = new Scheduler(ws, planned, {
      jobs, keepGoing: opts.keepGoing, gpuFlag: opts.gpus,
      executor: new LocalExecutor(session.jobs), listener, session,
      ...(await slurmOptions(ws, opts)),
    });
    if (pending) scheduler.interrupt(pending);
    const r = await scheduler.run();
    await close();
    const allFresh = r.failed.length === 0 && r.blocked.length === 0 && r.detached.length === 0 && r.unrecorded.length === 0 && !r.interrupted;
    ended = true;
    await session.end(say, (alone) => {
      ws.hasher.save();
      if (allFresh && alone && snapshotEligible(opts)) {
        const verified = [...sel.selected].map((id) => ws.graph.nodes[id]!.name);
        writeSnapshot(ws, snapshotKey(ws.root, ws.config, ws.configHash, selectionKey(opts), process.env), selectionKey(opts), r.ran.length + r.restored.length + r.fresh.length, verified, clean ? delta : undefined);
      } else removeSnapshot(ws.root);
    });
    return r.interrupted ? 130 : r.badInput ? 2 : r.failed.length ? 1 : 0;
  } finally {
    // What finished is recorded whatever went wrong after it.
    if (!ended) await session.end(say, () => removeSnapshot(ws.root));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const say = (m: string) => process.stderr.write(m + '\n');

/** `-n`: the plan, printed; nothing runs and nothing is written but the stat cache. */
function dryRun(ws: Workspace, sel: Selection, opts: Options, out: (s: string) => void): number {
  const t0 = performance.now();
  const listener = opts.json ? jsonRenderer(out) : plainRenderer(out, { quiet: opts.quiet, verbose: opts.verbose });
  const p = plan(ws, sel);
  // After the plan: it parses the entries it judges, and a corrupt one is said then.
  for (const w of ws.warnings) listener({ type: 'warning', message: w });
  listener({ type: 'plan', selected: p.steps.size, toRun: p.toDo.length });
  for (const s of p.fresh) listener({ type: 'fresh', name: s.name });
  for (const s of p.toDo) listener({ type: 'would-run', name: s.name, reasons: s.reasons, restore: s.need === 'restore' });
  ws.hasher.save();
  listener({ type: 'summary', ran: p.toDo.length, restored: 0, fresh: p.fresh.length, failed: 0, blocked: 0, ms: performance.now() - t0, interrupted: false, dryRun: true });
  return 0;
}
