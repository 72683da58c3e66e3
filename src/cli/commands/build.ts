// `sbuild [targets…]`: build the selection, or with -n print what would run and why.
import { SbuildError } from '../../errors.js';
import { select } from '../../graph/select.js';
import { Scheduler } from '../../engine/scheduler.js';
import type { Workspace } from '../../engine/workspace.js';
import type { Listener } from '../../engine/events.js';
import { LocalExecutor, defaultJobs } from '../../executors/local.js';
import { plainRenderer, jsonRenderer } from '../../ui/plain.js';
import type { Options } from '../args.js';
import { acquireWriterLock } from '../../engine/writer-lock.js';

export function roots(ws: Workspace, targets: string[], all: boolean): number[] {
  if (targets.length) return select(ws.graph, targets);
  if (all) return ws.graph.nodes.map((n) => n.id);
  if (ws.config.default) return select(ws.graph, [ws.config.default]);
  throw new SbuildError('usage', 'No target given and the config has no `default`. Name a target (see `sbuild list`) or add `default: \'<target>\'` to tasks.config.ts.');
}

export async function build(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const ids = roots(ws, opts.targets, false);
  const jobs = opts.jobs ?? defaultJobs();
  let listener: Listener;
  let close = async () => {};
  if (opts.json) listener = jsonRenderer(out);
  else if (process.stdout.isTTY && !process.env.CI && !opts.dryRun && !opts.quiet) {
    const tty = await (await import('../../ui/tty.js')).ttyRenderer(jobs, out);
    listener = tty.listener;
    close = tty.close;
  } else listener = plainRenderer(out, { quiet: opts.quiet, verbose: opts.verbose });
  // A dry run writes nothing but the stat cache, so it needs no writer lock.
  const writer = opts.dryRun ? undefined : await acquireWriterLock(ws.root, { wait: opts.wait, onWait: (m) => process.stderr.write(m + '\n') });
  if (writer?.waited) ws.reloadLock();
  for (const w of ws.warnings) listener({ type: 'warning', message: w });
  const scheduler = new Scheduler(ws, ids, {
    jobs, keepGoing: opts.keepGoing, force: opts.force, dryRun: opts.dryRun, gpuFlag: opts.gpus,
    executor: new LocalExecutor(), listener,
  });
  const onSignal = (sig: NodeJS.Signals) => scheduler.interrupt(sig);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const r = await scheduler.run();
    await close();
    if (r.interrupted) return 130;
    return r.failed.length ? 1 : 0;
  } finally {
    writer?.release();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
