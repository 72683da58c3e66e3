// `sbuild publish`: build the releasePublish targets (the bundle first, when stale), or with
// -n say exactly what each destination would be sent. `sbuild fetch SOURCE`: download a
// published bundle, verify it, and put its files where the graph expects them.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Workspace } from '../../engine/workspace.js';
import type { Options } from '../args.js';
import { SbuildError } from '../../errors.js';
import { selection } from '../../engine/selection.js';
import { plan } from '../../engine/plan.js';
import { DEFAULT_TOKEN_ENV, openStore, parseStore, fmtBytes, shown, type StoreInput } from '../../release/store.js';
import { ownerAbove } from '../../graph/graph.js';
import { publishPlan, readLocalBundle } from '../../release/publish.js';
import { downloadBundle } from '../../release/fetch.js';
import { installBundle } from '../../release/install.js';
import { stateDir } from '../../engine/state-paths.js';
import { beginWriting } from './writing.js';
import { select } from '../../graph/select.js';

const PUBLISH_RULE = 'sbuild/rules/releasePublish';

/** The publish targets named, or all of them. */
function publishTargets(ws: Workspace, names: string[]): number[] {
  const all = ws.graph.nodes.filter((n) => n.target.rule?.id === PUBLISH_RULE).map((n) => n.id);
  if (names.length === 0) {
    if (all.length) return all;
    throw new SbuildError(
      'usage',
      'tasks.config.ts declares no releasePublish target, so `sbuild publish` has nothing to do. Add one, e.g. ' +
        "`releasePublish({ name: 'release/publish', bundle, to: ['rclone:s3:bucket/paper/v1.0.0'] })` (docs/RESULTS_BUNDLE.md, Publishing).",
    );
  }
  const ids = select(ws.graph, names);
  const not = ids.filter((id) => ws.graph.nodes[id]!.target.rule?.id !== PUBLISH_RULE && !ws.graph.nodes[id]!.group);
  if (not.length) {
    throw new SbuildError('usage', `\`sbuild publish\` builds releasePublish targets; ${not.map((id) => `'${ws.graph.nodes[id]!.name}'`).join(', ')} ${not.length === 1 ? 'is' : 'are'} not one. Publish targets here: ${all.map((id) => ws.graph.nodes[id]!.name).join(', ') || 'none'}.`);
  }
  return ids;
}

export async function publish(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const ids = publishTargets(ws, opts.targets);
  const names = ids.map((id) => ws.graph.nodes[id]!.name);
  if (!opts.dryRun) return (await import('./build.js')).build(ws, { ...opts, command: 'build', targets: names }, out);
  // A dry run: the plan says whether the bundle and the publish target must be built; for a
  // publish target that would run on a bundle already built, each destination is asked what
  // it holds, and the exact transfers are printed.
  const p = plan(ws, selection(ws.graph, ids, opts.force));
  const signal = new AbortController().signal;
  for (const id of ids) {
    const node = ws.graph.nodes[id]!;
    if (node.group) continue;
    const step = p.steps.get(id)!;
    const folder = node.target.params!.folder as string;
    if (step.need === 'fresh' || step.need === 'absent') {
      out(`${node.name}: fresh — the bundle ${folder}/ is published as recorded; nothing would be sent (-B asks the destinations again)`);
      continue;
    }
    const upstream = [...p.steps.values()].filter((s) => s.id !== id && (s.need === 'run' || s.need === 'restore' || s.need === 'blocked'));
    if (upstream.length) {
      out(`${node.name}: the bundle ${folder}/ is not built as the config says (${upstream.length} target(s) to build first: ${upstream.slice(0, 5).map((s) => s.name).join(', ')}${upstream.length > 5 ? ', …' : ''}); run \`sbuild release\`, or the bundle's target, then \`sbuild publish -n\` again to see what would be sent`);
      continue;
    }
    const bundle = await readLocalBundle(path.join(ws.root, folder), folder);
    for (const to of node.target.params!.to as StoreInput[]) {
      const store = await openStore(parseStore(to, node.name, { tokenEnv: DEFAULT_TOKEN_ENV }));
      let send = [...bundle.files, bundle.sums];
      let note = '';
      try {
        send = (await publishPlan(bundle, store, signal)).send;
      } catch (err) {
        note = ` (could not ask it what it holds: ${(err as Error).message.split('\n')[0]}; all files listed)`;
      }
      if (send.length === 0) {
        out(`${node.name}: ${store.label} holds every file already; nothing would be sent`);
        continue;
      }
      out(`${node.name}: would send ${send.length} file(s), ${fmtBytes(send.reduce((a, f) => a + f.bytes, 0))}, to ${store.label}${note}:`);
      for (const line of store.putCommands(send.map((f) => ({ name: f.name, localAbs: path.relative(ws.root, f.localAbs) })), { commit: bundle.commit, version: bundle.version })) out(`  ${line}`);
    }
  }
  return 0;
}

export async function fetchBundle(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  // No token goes to a source unless asked for: it may be someone else's server.
  const spec = parseStore(opts.targets[0], '`sbuild fetch`', opts.tokenEnv ? { tokenEnv: opts.tokenEnv } : {});
  const store = await openStore(spec);
  const { writer, recovered } = await beginWriting(ws, opts);
  if (recovered) out(`warning: ${recovered}`);
  const controller = new AbortController();
  let interrupted = false;
  const stop = () => {
    interrupted = true;
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const fetchDir = path.join(stateDir(ws.root), 'fetch');
  // What an interrupted or killed fetch left (this one holds the writer lock: none is running).
  if (writer) fs.rmSync(fetchDir, { recursive: true, force: true });
  const staging = path.join(fetchDir, `${Date.now()}-${randomBytes(4).toString('hex')}`);
  const live = await liveLine(opts);
  try {
    const staged = await downloadBundle(store, path.join(staging, 'bundle'), { signal: controller.signal, line: (t) => live.line(t), progress: (t) => live.progress(t) });
    live.done();
    const lock = new Map([...ws.lock.entries].map(([name, e]) => [name, { fingerprint: e.fingerprint }]));
    const graph = ws.graph;
    const r = await installBundle(ws.root, staged, lock, store.label, {
      overwrite: opts.overwrite,
      all: opts.anyCommit,
      dryRun: opts.dryRun,
      ownerOf: (rel) => {
        const id = ownerAbove(graph.outputOwner, rel);
        return id === undefined ? undefined : graph.nodes[id]!.name;
      },
      outputsOf: (t) => {
        const e = ws.lock.entries.get(t);
        return e ? Object.keys(e.outputs) : undefined;
      },
    });
    const m = staged.manifest;
    const would = opts.dryRun;
    out(`sbuild: fetched ${shown(m.version)} (commit ${typeof m.commit === 'string' ? shown(m.commit.slice(0, 12)) : 'unknown'}) from ${store.label}: ${staged.sums.size} file(s) verified against SHA256SUMS`);
    out(`sbuild: ${would ? 'would place' : 'placed'} ${r.placed.length} file(s)${r.present.length ? `; ${r.present.length} already there with the same bytes` : ''}${would ? ' (a dry run: nothing was placed)' : ''}`);
    if (opts.verbose) for (const p of r.placed) out(`  ${shown(p)}`);
    const complete = r.matching.length - r.incomplete.length;
    if (complete) out(`sbuild: ${complete} target(s) published with the fingerprint sbuild.lock records ${would ? 'would have' : 'have'} all their outputs in place, so they ${would ? 'would be' : 'are'} fresh (\`sbuild status\`)`);
    if (r.incomplete.length) {
      out(`sbuild: ${r.incomplete.length} target(s) match sbuild.lock but the bundle lacks some of their outputs (${r.incomplete.slice(0, 5).map(shown).join(', ')}${r.incomplete.length > 5 ? ', …' : ''}): they run again when something needs those`);
    }
    if (r.differing.length) {
      out(
        `sbuild: ${r.differing.length} target(s) differ from sbuild.lock (this clone is not at the published commit${typeof m.commit === 'string' ? ` ${shown(m.commit.slice(0, 12))}` : ''}, or the config changed since): ` +
          `${r.differing.slice(0, 5).map(shown).join(', ')}${r.differing.length > 5 ? ', …' : ''}; ${opts.anyCommit ? `their files ${would ? 'would be' : 'were'} unpacked too, and sbuild will rebuild them when they are needed` : `their ${r.skipped} file(s) ${would ? 'would be' : 'were'} left out (--any-commit unpacks them anyway)`}`,
      );
    }
    return 0;
  } catch (err) {
    if (interrupted) {
      process.stderr.write('sbuild: fetch interrupted; nothing was placed from the bundle being downloaded\n');
      return 130;
    }
    throw err;
  } finally {
    live.done();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    fs.rmSync(staging, { recursive: true, force: true });
    writer?.release();
  }
}

/** A line per file everywhere; on a terminal also one live line with bytes and rate (listr2). */
async function liveLine(opts: Options): Promise<{ line: (t: string) => void; progress: (t: string) => void; done: () => void }> {
  const write = (t: string) => process.stderr.write(t + '\n');
  if (!process.stderr.isTTY || process.env.CI || opts.quiet || opts.json) return { line: opts.quiet ? () => {} : write, progress: () => {}, done: () => {} };
  const { Listr } = await import('listr2');
  let setTitle: ((t: string) => void) | undefined;
  let finish: (() => void) | undefined;
  const ended = new Promise<void>((r) => (finish = r));
  // Ctrl-C is sbuild's to handle (clean up, exit 130), not listr's (which would exit at once).
  const list = new Listr([{ title: 'fetching', task: async (_c, task) => ((setTitle = (t) => (task.title = t)), await ended) }], { rendererOptions: { collapseSubtasks: true }, exitOnError: false, registerSignalListeners: false });
  const running = list.run().catch(() => undefined);
  let closed = false;
  return {
    line: (t) => setTitle?.(t),
    progress: (t) => setTitle?.(t),
    done: () => {
      if (closed) return;
      closed = true;
      finish?.();
      void running;
    },
  };
}
