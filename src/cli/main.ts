// The whole pipeline: argv → options → workspace (config → graph → state) → command → exit code.
import { parseCli, HELP, type Options } from './args.js';
import { renderError } from '../ui/errors.js';
import { SbuildError } from '../errors.js';
import { loadConfig } from '../config/load.js';
import { phase } from '../util/timing.js';
import { resetExperiments } from '../config/variants.js';

export async function main(argv: string[]): Promise<number> {
  // `sbuild … | head`: the reader left. Stop writing, but let a build finish and save its
  // state (and its jobs end normally) rather than dying mid-way.
  let readerGone = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') readerGone = true;
    else throw err;
  });
  const out = (s: string) => {
    if (!readerGone) process.stdout.write(s + '\n');
  };
  try {
    // Its own flags, then a command line of another program's: not parsed as sbuild's.
    if (argv[0] === 'launch' && argv.includes('--')) return await (await import('./commands/launch.js')).launch(argv.slice(1), (s) => process.stderr.write(s + '\n'));
    const opts = parseCli(argv);
    if (opts.version) {
      out((await import('./version.js')).version());
      return 0;
    }
    if (opts.command === 'help') {
      out(HELP);
      return 0;
    }
    const code = await runCommand(opts, out);
    (await import('../util/timing.js')).printPhases();
    return code;
  } catch (err) {
    const { text, exitCode } = renderError(err);
    process.stderr.write(text + '\n');
    return exitCode;
  }
}

async function runCommand(opts: Options, out: (s: string) => void): Promise<number> {
  if (opts.settings.length && !['build', 'status', 'explain', 'list'].includes(opts.command)) {
    throw new SbuildError('usage', `-S makes a variant of experiments to build (or to show with status, explain and list); \`sbuild ${opts.command}\` takes no -S. Drop -S, or name the variant's targets instead (exp/NAME@KEY=VALUE/…), after building it once with -S.`);
  }
  // These two work on git's files, not on a workspace: no config needed.
  if (opts.command === 'merge-lock') return (await import('./commands/merge-lock.js')).mergeLock(opts.targets, out);
  // `--root DIR`: the folder to set up.
  if (opts.command === 'init') return (await import('./commands/init.js')).init(opts.root === undefined ? process.cwd() : (await import('../config/locate.js')).rootFolder(process.cwd(), opts.root), opts, out);
  // A resident process: it loads (and reloads) the config itself.
  if (opts.command === 'watch') return (await import('./commands/watch.js')).watch(process.cwd(), opts, out);
  phase('modules');
  resetExperiments();
  let loaded = await loadConfig(process.cwd(), opts);
  phase('load config');
  if (opts.command === 'check') return (await import('./commands/check.js')).check(loaded, opts, out);
  if (opts.command === 'variants') return (await import('./commands/variants.js')).variants(loaded.root, opts, out);
  let variant: import('./variant-request.js').VariantBuild | undefined;
  if (opts.settings.length) {
    variant = await (await import('./variant-request.js')).variantRequest(loaded, opts, process.cwd());
    loaded = variant.loaded;
    opts = { ...opts, targets: variant.targets };
  }
  let delta: import('../engine/noop-snapshot.js').SnapshotDelta | undefined;
  if (opts.command === 'build' && !opts.settings.length) {
    const { noopFastPath } = await import('./commands/noop.js');
    phase('noop module');
    const fast = await noopFastPath(loaded, opts, out);
    if ('code' in fast) return fast.code;
    delta = fast.delta;
  }
  const { openWorkspace } = await import('../engine/workspace.js');
  const ws = await openWorkspace(process.cwd(), opts, loaded);
  if (variant && opts.command === 'build' && !opts.dryRun) {
    variant.persist();
    if (!opts.quiet && !opts.json) for (const line of variant.summary) out(`sbuild: ${line} (recorded in sbuild.variants.json)`);
  }
  // `sbuild metrics …` without `diff`: a target named metrics, or else the command's usage.
  if (opts.command === 'build' && opts.targets[0] === 'metrics' && !ws.graph.byName.has('metrics')) {
    return (await import('./commands/metrics.js')).metrics(ws, { ...opts, command: 'metrics', targets: opts.targets.slice(1) }, out);
  }
  switch (opts.command) {
    case 'build': return (await import('./commands/build.js')).build(ws, opts, out, delta);
    case 'status': return (await import('./commands/status.js')).status(ws, opts, out);
    case 'explain': return (await import('./commands/status.js')).explain(ws, opts, out);
    case 'list': return (await import('./commands/inspect.js')).list(ws, opts, out);
    case 'graph': return (await import('./commands/inspect.js')).graph(ws, opts, out);
    case 'clean': return (await import('./commands/clean.js')).clean(ws, opts, out);
    case 'push': return (await import('./commands/transfer.js')).push(ws, opts, out);
    case 'pull': return (await import('./commands/transfer.js')).pull(ws, opts, out);
    case 'publish': return (await import('./commands/release-transfer.js')).publish(ws, opts, out);
    case 'fetch': return (await import('./commands/release-transfer.js')).fetchBundle(ws, opts, out);
    case 'adopt': return (await import('./commands/adopt.js')).adopt(ws, opts, out);
    case 'materialize': return (await import('./commands/materialize.js')).materialize(ws, opts, out);
    case 'metrics': return (await import('./commands/metrics.js')).metrics(ws, opts, out);
    case 'results':
      if (ws.graph.byName.has('results')) process.stderr.write("note: this shows the results table; to build the target named 'results', run `sbuild build results`.\n");
      return (await import('./commands/results.js')).results(ws, opts, out);
    case 'report':
      if (ws.graph.byName.has('report')) process.stderr.write("note: this writes the HTML report; to build the target named 'report', run `sbuild build report`.\n");
      return (await import('./commands/report.js')).report(ws, opts, out);
    case 'gc': {
      // Never beside a build: one may be restoring what gc would remove.
      const { writer } = await (await import('./commands/writing.js')).beginWriting(ws, { ...opts, dryRun: false });
      try {
        return await gcCommand(ws, opts, out);
      } finally {
        writer?.release();
      }
    }
    case 'help': out(HELP); return 0;
  }
  throw new SbuildError('usage', `unknown command ${String(opts.command)}`);
}

async function gcCommand(ws: import('../engine/workspace.js').Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const r = (await import('../cache/gc.js')).gc(ws.store, opts.maxSize);
  const mb = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MB`;
  const linked = r.before - r.after - r.freed;
  out(`sbuild: cache ${mb(r.before)} → ${mb(r.after)}; removed ${r.removedBlobs} blob(s) and ${r.removedActions} action result(s), freeing ${mb(r.freed)} on disk${linked > 0 ? ` (${mb(linked)} of them are still hard-linked from the workspace)` : ''}`);
  // Partial work of trainings set aside when their config changed (engine/resume.ts).
  const p = (await import('../engine/resume.js')).removePartial(ws.root);
  if (p.folders) out(`sbuild: removed ${p.folders} set-aside partial training folder(s) from .sbuild/partial/ (${mb(p.bytes)})`);
  return 0;
}
