// `sbuild watch [targets…]`: builds the selection, then stays resident and builds it again
// whenever one of its inputs changes. The config, the graph and the stat cache stay in memory:
// an event drops the stats of the paths it names (src/engine/watcher.ts decides which changed
// anything), a config edit reloads the config and the workspace. Builds never overlap: what
// changes during one starts exactly one more after it. The writer lock is held only while a
// build runs, so other sbuild commands work in between; sbuild.lock is read again before a
// build when another sbuild wrote it meanwhile.
//
// Each build after the first is planned from what changed (engine/dirty.ts): the targets that
// read, write or list a path the watcher found changed since the last build, and everything
// downstream of them, are judged; the rest are taken as sbuild.lock records them. That holds
// only while the last build left every selected target fresh and nothing but this process
// wrote sbuild.lock: after a failed, blocked or interrupted build, a config reload, a rebuilt
// graph, or sbuild.lock written by another sbuild, the next build judges everything.
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { SbuildError } from '../../errors.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { recordConfigReads } from '../../config/reads.js';
import { addRead, observe, observeConfigLoad, type ConfigRead, type LoadObservation } from '../../config/load-observer.js';
import { openWorkspace, type Workspace } from '../../engine/workspace.js';
import { Scheduler, type BuildResult } from '../../engine/scheduler.js';
import { plan, type Plan } from '../../engine/plan.js';
import { roots, selection, type Selection } from '../../engine/selection.js';
import { cleanTargets } from '../../engine/dirty.js';
import type { BuildEvent, Listener } from '../../engine/events.js';
import { ownerAbove, type Listing } from '../../graph/graph.js';
import type { FileHasher } from '../../hashing/file-hasher.js';
import { forgetModuleHashes } from '../../hashing/fingerprint.js';
import { LocalExecutor, defaultJobs } from '../../executors/local.js';
import { plainRenderer, jsonRenderer, summaryText } from '../../ui/plain.js';
import { renderError } from '../../ui/errors.js';
import { removeSnapshot } from '../../engine/noop-snapshot.js';
import { remoteFor } from '../../cache/setup.js';
import { absPath } from '../../util/fs.js';
import { FolderWatcher, Debouncer, classify, filesBelow, foldersFor, ignoredPath, relPath, type ChangeView, type ConfigSeen } from '../../engine/watcher.js';
import type { Options } from '../args.js';
import { beginBuild } from './writing.js';
import { anyBuilds } from '../../engine/live-builds.js';
import type { BuildSession } from '../../engine/build-session.js';
import { slurmOptions } from './build.js';

const DEFAULT_DEBOUNCE_MS = 30;

/** The debounce window: --debounce, else SBUILD_WATCH_DEBOUNCE_MS, else 30 ms. */
function debounceOf(opts: Options): number {
  if (opts.debounceMs !== undefined) return opts.debounceMs;
  const env = process.env.SBUILD_WATCH_DEBOUNCE_MS;
  if (env === undefined || env === '') return DEFAULT_DEBOUNCE_MS;
  const ms = Number(env);
  if (!Number.isFinite(ms) || ms < 0) throw new SbuildError('usage', `SBUILD_WATCH_DEBOUNCE_MS takes milliseconds ≥ 0, got '${env}'.`);
  return ms;
}

export async function watch(cwd: string, opts: Options, out: (s: string) => void): Promise<number> {
  if (opts.dryRun || opts.force) {
    throw new SbuildError('usage', `\`sbuild watch\` does not take ${opts.dryRun ? '-n/--dry-run' : '-B/--force'}: it builds what changed. Run \`sbuild ${opts.dryRun ? '-n' : '-B'} [targets…]\` once instead.`);
  }
  const session = new Session(cwd, opts, out, debounceOf(opts));
  await session.open();
  return session.run();
}

/** Epoch milliseconds with sub-millisecond precision (comparable across processes). */
const epoch = (t = performance.now()) => performance.timeOrigin + t;

interface Trigger {
  /** The files whose change started the build, as the user names them. */
  what: string[];
  /** Said after them ("config reloaded"). */
  note?: string;
  /** When the first event of the batch arrived and when the window closed (performance.now()). */
  eventAt?: number;
  flushAt?: number;
  /** Targets of the build before whose inputs changed while they ran (engine/input-guard.ts): this build judges them again. */
  again?: string[];
}

class Session {
  private loaded!: LoadedConfig;
  private ws!: Workspace;
  /**
   * What changed since the last build that left every selected target fresh: the paths the
   * watcher found changed (workspace-relative), or undefined when the next build must judge
   * everything (the first build, after a reload, after a build that did not end all fresh).
   */
  private dirty: Set<string> | undefined;
  /** Targets the last build left unrecorded (their inputs changed while they ran): the next flush builds even if nothing else changed. */
  private again: string[] | undefined;
  private hasher: FileHasher | undefined;
  /** The selection in the current workspace (the same object for every build over it). */
  private sel!: Selection;
  private selected = new Set<number>();
  /** Config source files and what the config load looked at → how it looked, and what it saw then. */
  private configFiles = new Map<string, ConfigSeen>();
  /** Files (absolute) that watched links lead to → those links; and the links. */
  private aliases = new Map<string, string[]>();
  private links = new Set<string>();
  /** Said with the next build, once: what the config load did that watch cannot follow. */
  private loadWarnings: string[] = [];
  /** Folder inputs and declared outputs of the selection (a new file inside one matters). */
  private trees = new Set<string>();
  private generation = 0;
  /**
   * The config failed to load, or the workspace it declares failed to open (an empty glob):
   * the error shown. Nothing is built until a reload succeeds.
   */
  private broken: string | undefined;
  /** Whether the files on disk, not only the config, can fix it (a glob that matched nothing). */
  private brokenByDisk = false;
  /** A batch of changes is being handled (classified, reloaded, built): the debouncer is held. */
  private building = false;
  /** Waiting for another sbuild's writer lock. */
  private locking = false;
  private scheduler: Scheduler | undefined;
  private stopping = false;
  private exitCode = 130;
  private readonly warned = new Set<string>();
  private finished: ((code: number) => void) | undefined;
  private readonly watcher: FolderWatcher;
  private readonly debouncer: Debouncer;
  private readonly json: boolean;

  constructor(
    private readonly cwd: string,
    private readonly opts: Options,
    private readonly out: (s: string) => void,
    debounceMs: number,
  ) {
    this.json = opts.json;
    this.debouncer = new Debouncer(debounceMs, (paths, firstAt) => void this.onFlush(paths, firstAt));
    this.watcher = new FolderWatcher((p) => this.debouncer.add(p));
  }

  /** Loads the config, the workspace and the selection; errors here end the command (exit 2). */
  async open(): Promise<void> {
    await this.load();
  }

  async run(): Promise<number> {
    const onSignal = (sig: NodeJS.Signals) => this.onSignal(sig);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const done = new Promise<number>((resolve) => (this.finished = resolve));
    try {
      this.resync();
      await this.handle(() => this.build({ what: [] }));
      return await done;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      this.watcher.close();
      this.debouncer.close();
    }
  }

  // ---------------------------------------------------------------------------------------
  // Loading

  /** (Re)loads the config and opens the workspace over it; throws what the load threw. */
  private async load(): Promise<void> {
    const generation = this.generation++;
    const reads = new Set<string>();
    const listed = new Set<string>();
    const observed: LoadObservation = { seen: new Map(), started: [] };
    // What rules noted: files read, and folders listed (a Python config's os.listdir).
    const noted = (): Array<[string, ConfigRead]> => [...[...reads].map((f): [string, ConfigRead] => [f, 'read']), ...[...listed].map((f): [string, ConfigRead] => [f, 'list'])];
    let loaded: LoadedConfig;
    try {
      loaded = await observeConfigLoad(observed, () => recordConfigReads(reads, () => loadConfig(this.cwd, this.opts, { generation }), listed));
    } catch (err) {
      // A config that does not load: its files as last known, and whatever this attempt read
      // (a Python config that fails), are what a fix will touch.
      const before: Array<[string, ConfigRead]> = [...this.configFiles].map(([f, o]) => [f, o.how]);
      this.configFiles = observedReads(this.loaded?.root, [...before, ...noted()], observed.seen);
      throw err;
    }
    // Files read while loading matter even when what follows fails: fixing them is what reloads.
    // The config's own sources count as they went into the compiled config, not as they are
    // now: an edit saved while it loaded differs from what was evaluated, and reloads.
    this.configFiles = observedReads(loaded.root, [[loaded.file, 'read'], ...noted()], observed.seen, loaded.sources);
    const started = observed.started.map((c) => `\`${c}\``);
    this.loadWarnings = started.length
      ? [`the config ran ${describe(started, 'commands')} while it loaded; watch does not see what ${started.length === 1 ? 'that' : 'they'} read: restart it after changing that.`]
      : [];
    this.loaded = loaded;
    if (generation > 0) forgetModuleHashes();
    this.openWorkspace(await openWorkspace(this.cwd, this.opts, loaded, this.hasher ? { hasher: this.hasher } : undefined));
  }

  private openWorkspace(ws: Workspace): void {
    const sel = selection(ws.graph, roots(ws, this.opts.targets, false), false);
    this.ws = ws;
    // Another graph (or another config): nothing is known clean in it.
    this.dirty = undefined;
    this.files = undefined;
    this.hasher = ws.hasher;
    this.sel = sel;
    this.selected = sel.selected;
    this.trees = new Set();
    for (const id of this.selected) {
      const n = ws.graph.nodes[id]!;
      for (const { path: p } of n.literalInputs) this.trees.add(p);
      for (const o of n.outputs) this.trees.add(o);
    }
  }

  /**
   * Loads the config again (`workspaceOnly`: only the workspace, over the config already
   * loaded). False when it fails: the error is shown (`quietIfSame`: unless it is the one
   * shown last) and nothing is built until a reload succeeds.
   */
  private async reload(workspaceOnly: boolean, quietIfSame = false): Promise<boolean> {
    try {
      if (workspaceOnly) this.openWorkspace(await openWorkspace(this.cwd, this.opts, this.loaded, { hasher: this.hasher! }));
      else await this.load();
      this.broken = undefined;
      this.resync();
      return true;
    } catch (err) {
      const { text, exitCode } = renderError(err);
      if (exitCode === 70) throw err;
      if (!(quietIfSame && text === this.broken)) {
        if (this.json) this.out(JSON.stringify({ type: 'error', message: text }));
        else process.stderr.write(text + '\n');
        this.say('waiting for a fix; Ctrl-C stops', { type: 'waiting', reason: 'error' });
      }
      this.broken = text;
      this.brokenByDisk = err instanceof SbuildError && err.kind === 'glob-empty';
      this.resync();
      return false;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Events

  /**
   * Runs one batch of work (the first build, or the changes of one window) with the debouncer
   * held, so builds never overlap: what changes meanwhile is handed over after it.
   */
  private async handle(work: () => Promise<void>): Promise<void> {
    this.building = true;
    this.debouncer.hold();
    try {
      await work();
    } catch (err) {
      const { text, exitCode } = renderError(err);
      process.stderr.write(text + '\n');
      this.stop(exitCode);
    } finally {
      this.building = false;
      if (this.stopping) this.settle();
      else this.debouncer.release();
    }
  }

  private async onFlush(paths: Map<string, number>, firstAt: number): Promise<void> {
    if (this.stopping) return;
    if (this.building) {
      // Not expected (the debouncer is held meanwhile): keep them for the next window.
      for (const [p, at] of paths) this.debouncer.add(p, at);
      return;
    }
    const at = { eventAt: firstAt, flushAt: performance.now() };
    await this.handle(async () => {
      // Always judged, also while the config is broken: the stat cache must follow every change.
      const changes = classify(paths, this.view());
      if (this.broken !== undefined) {
        // Nothing is built until the config loads: try again when one of its files changed, or
        // on any change when the config loaded but its workspace did not (a glob that matched nothing).
        if (changes.config.length === 0 && !this.brokenByDisk) return;
        const what = changes.config.length ? changes.config : changes.changed.map((p) => absPath(this.ws.root, p));
        if (await this.reload(false, changes.config.length === 0)) await this.build({ what: this.shown(what), note: 'config reloaded', ...at });
        return;
      }
      if (changes.config.length) {
        if (await this.reload(false)) await this.build({ what: this.shown(changes.config), note: 'config reloaded', ...at });
        return;
      }
      if (changes.globs.size && this.graphMoved(changes.globs)) {
        // A glob now reaches into another target's outputs, or matches nothing: the graph's
        // edges (or its errors) depend on that, so it is worked out again over the same config.
        if (!(await this.reload(true))) return;
      }
      if (changes.globs.size) this.files = undefined;
      if (changes.folders) this.resync();
      // A glob that matches other files now: its users are judged again.
      for (const spec of changes.globs.keys()) this.dirty?.add(picomatch.scan(spec).base);
      for (const p of changes.changed) this.dirty?.add(p);
      const again = this.again;
      this.again = undefined;
      if (changes.changed.length === 0 && !again) return;
      this.ws.rebuilder.outputsWritten(changes.changed);
      await this.build({ what: this.shown(changes.changed.map((p) => absPath(this.ws.root, p))), ...at, ...(again ? { again } : {}) });
    });
  }

  /** Whether new glob matches need the graph built again (new edges, or a glob that matches nothing now). */
  private graphMoved(globs: Map<string, string[]>): boolean {
    const g = this.ws.graph;
    for (const [spec, added] of globs) {
      const users = g.nodes.filter((n) => n.globInputs.includes(spec));
      if ((g.globMatches.get(spec) ?? []).length === 0) {
        const m = picomatch(spec, { dot: true });
        if (![...g.outputOwner.keys()].some((o) => m(o))) return true;
      }
      for (const f of added) {
        const owner = ownerAbove(g.outputOwner, f);
        if (owner !== undefined && users.some((n) => n.id !== owner && !n.deps.includes(owner))) return true;
      }
    }
    return false;
  }

  private view(): ChangeView {
    const h = this.ws.hasher;
    const trees = this.trees;
    return {
      root: this.ws.root,
      statMemo: (r) => h.statMemo(r),
      recordedHash: (r) => h.recordedHash(r),
      hashNow: (r) => h.hashFile(r)?.hash,
      invalidate: (r) => h.invalidate(r),
      hasStatsBelow: (r) => h.hasStatsBelow(r),
      goneBelow: (r) => h.goneBelow(r),
      configFiles: this.configFiles,
      inTree: (r) => {
        for (let cur = r; ; ) {
          if (trees.has(cur)) return true;
          const i = cur.lastIndexOf('/');
          if (i <= 0) return false;
          cur = cur.slice(0, i);
        }
      },
      isOutput: (r) => this.ws.graph.outputOwner.has(r),
      globMatches: this.ws.graph.globMatches,
      globListings: this.ws.graph.globListings,
      watched: (dir) => this.watcher.has(dir),
      aliasesOf: (abs) => this.aliases.get(abs) ?? [],
      isLink: (abs) => this.links.has(abs),
    };
  }

  /** Paths as the user writes them: relative to the current folder. */
  private shown(abs: string[]): string[] {
    return abs.map((p) => path.relative(this.cwd, p) || p);
  }

  // ---------------------------------------------------------------------------------------
  // Builds

  /** One build of the selection (inside `handle`). */
  private async build(trigger: Trigger): Promise<void> {
    if (this.stopping) return;
    const ws = this.ws;
    if (this.json && trigger.what.length) {
      this.out(JSON.stringify({
        type: 'change', paths: trigger.what, ...(trigger.note ? { note: trigger.note } : {}),
        ...(trigger.eventAt !== undefined ? { eventAt: epoch(trigger.eventAt) } : {}),
        ...(trigger.flushAt !== undefined ? { flushAt: epoch(trigger.flushAt) } : {}),
      }));
    }
    const lockBefore = ws.lock;
    // The changes since the last build can say what is clean only when sbuild.lock is still
    // what this process left (not re-read: another sbuild wrote it) and no killed build's jobs
    // were recovered; judged under the state lock, as the plan is.
    let recoveredNow: string | undefined;
    let started: Awaited<ReturnType<typeof beginBuild>>;
    this.locking = true;
    try {
      started = await beginBuild(ws, { wait: this.opts.wait, targets: this.opts.targets }, (recovered) => {
        const since = this.dirty !== undefined && ws.lock === lockBefore && !recovered && !anyBuilds(ws.root) ? [...this.dirty] : undefined;
        return plan(ws, this.sel, since ? cleanSince(ws, this.sel, since) : undefined, true);
      });
      recoveredNow = started.recovered;
    } catch (err) {
      if (!(err instanceof SbuildError) || err.kind !== 'workspace-busy') throw err;
      // --no-wait: this change is built with the next one.
      process.stderr.write(renderError(err).text + '\n');
      this.waiting();
      return;
    } finally {
      this.locking = false;
    }
    let result: BuildResult | undefined;
    const t0 = performance.now();
    let firstStart: number | undefined;
    try {
      const base = this.listener(trigger, () => (firstStart ??= performance.now()));
      // State found corrupt and rebuilt is said once, not after every reload.
      for (const w of [...ws.warnings, ...this.loadWarnings]) {
        if (!this.warned.has(w)) base({ type: 'warning', message: w });
        this.warned.add(w);
      }
      if (recoveredNow) base({ type: 'warning', message: recoveredNow });
      ws.remote = remoteFor(ws.config, { url: this.opts.remoteCache, upload: this.opts.remoteUpload }, (message) => base({ type: 'warning', message }));
      const built = await runBuild(ws, started.plan, started.session, this.opts, base, (s) => {
        this.scheduler = s;
        if (this.stopping) s.interrupt('SIGINT'); // stopped while the build was being set up
      });
      result = built.result;
      if (this.json) {
        this.out(JSON.stringify({
          type: 'built', buildAt: epoch(t0), ...(firstStart !== undefined ? { firstStartAt: epoch(firstStart) } : {}),
          ran: result.ran.length, restored: result.restored.length, failed: result.failed.length,
          // Targets the plan judged (the others were known clean), of the selection's.
          judged: built.plan.judged, targets: built.plan.steps.size,
        }));
      }
    } finally {
      this.scheduler = undefined;
      let alone = false;
      await started.session.end((m) => process.stderr.write(m + '\n'), (a) => {
        alone = a;
        ws.hasher.save();
      });
      // What this build wrote is in memory already: the next one re-reads sbuild.lock only
      // when another sbuild wrote it after this point.
      if (alone) ws.lockSeen();
    }
    if (result.ran.length || result.restored.length || result.failed.length || result.blocked.length) removeSnapshot(ws.root);
    // Every selected target is fresh now, as this process knows it: the next build judges only
    // what changes touch. Anything else (a failed or blocked target, an interruption) is judged
    // in full next time.
    // A target left unrecorded (its inputs changed while it ran) is not fresh either.
    this.dirty = result.failed.length === 0 && result.blocked.length === 0 && result.unrecorded.length === 0 && !result.interrupted ? new Set() : undefined;
    if (result.interrupted || this.stopping) {
      this.stop(130);
      return;
    }
    this.afterBuild(result);
    // Those targets are built once more, after the events of the paths that moved (and any
    // others held meanwhile) are taken in: even when what changed is back as it was. Not again
    // after that, or a job that changes its own inputs would never let the watcher rest.
    this.again = undefined;
    if (result.unrecorded.length && !trigger.again) {
      this.again = result.unrecorded.map((u) => u.name);
      for (const u of result.unrecorded) this.debouncer.add(absPath(ws.root, u.moved));
    }
    this.waiting();
  }

  /** Says what is watched, once a build is over. */
  private waiting(): void {
    const files = this.fileCount();
    const targets = [...this.selected].filter((id) => !this.ws.graph.nodes[id]!.group).length;
    const fmt = (n: number) => n.toLocaleString('en-US');
    this.say(`watching ${fmt(files)} files in ${fmt(this.watcher.size)} folders for ${fmt(targets)} target${targets === 1 ? '' : 's'}; Ctrl-C stops`,
      { type: 'watching', files, folders: this.watcher.size, targets });
  }

  /**
   * The build wrote files: the folders it created are watched, and glob matches that may
   * include files inside the output folders it wrote are listed again (declared outputs
   * themselves enter globs whether on disk or not).
   */
  private afterBuild(r: BuildResult): void {
    const ws = this.ws;
    const g = ws.graph;
    const folders: string[] = [];
    const unwatched: string[] = [];
    for (const name of [...r.ran, ...r.restored, ...r.failed]) {
      for (const o of g.byName.get(name)?.outputs ?? []) {
        const kind = ws.hasher.kind(o);
        const abs = absPath(ws.root, o);
        if (kind !== 'file') folders.push(o);
        // An output folder was removed before its job and made again by it: the old handle
        // hears nothing more, even where the new folder got the old one's inode number.
        if (kind === 'dir') {
          this.watcher.drop(abs);
          unwatched.push(abs);
        } else if (!this.watcher.watching(path.dirname(abs))) unwatched.push(path.dirname(abs));
      }
    }
    if (unwatched.length) {
      this.resync();
      // Made (again) by the build: what changed in them before they were watched had no event.
      // Each file is looked at once; what the build itself wrote is as it recorded it.
      for (const dir of unwatched) for (const f of filesBelow(dir)) this.debouncer.add(f);
    }
    if (folders.length === 0) return;
    for (const spec of g.globMatches.keys()) {
      const base = picomatch.scan(spec).base;
      if (folders.some((p) => base === '' || p === base || p.startsWith(base + '/') || base.startsWith(p + '/'))) {
        const dirs: Listing = [];
        g.globMatches.set(spec, ws.diskGlob([spec], dirs));
        g.globListings.set(spec, dirs);
        this.dirty?.add(base); // its users are judged against the new listing next time
        this.files = undefined;
      }
    }
  }

  /** A listener that renders the build as `sbuild` does, with the trigger on the summary line. */
  private listener(trigger: Trigger, onStart: () => void): Listener {
    const render = this.json ? jsonRenderer(this.out) : plainRenderer(this.out, { quiet: this.opts.quiet, verbose: this.opts.verbose });
    const suffix = trigger.what.length ? ` — after ${describe(trigger.what)} changed${trigger.note ? ` (${trigger.note})` : ''}`
      : trigger.again ? ` — again for ${describe(trigger.again, 'targets')}, whose inputs changed while they ran` : '';
    return (e: BuildEvent) => {
      if (e.type === 'start') onStart();
      // Thousands of fresh targets per build: listed only with -v (as in plain output).
      if (e.type === 'fresh' && !this.opts.verbose) return;
      if (e.type === 'summary' && !this.json) this.out(summaryText(e) + suffix);
      else render(e);
    };
  }

  // ---------------------------------------------------------------------------------------
  // Folders

  /** Watches the folders that hold the selection's inputs, outputs, glob bases and config files. */
  private resync(): void {
    this.watcher.sync(foldersFor(this.spec()));
  }

  private spec(): { files: string[]; trees: string[]; folders: string[] } {
    const ws = this.ws;
    const files = new Set<string>();
    const trees = new Set<string>();
    const add = (p: string) => (ws.hasher.kind(p) === 'dir' ? trees : files).add(absPath(ws.root, p));
    for (const id of this.selected) {
      const n = ws.graph.nodes[id]!;
      for (const { path: p } of n.literalInputs) add(p);
      for (const o of n.outputs) add(o);
      for (const spec of n.globInputs) trees.add(absPath(ws.root, picomatch.scan(spec).base));
    }
    const folders: string[] = [];
    for (const [f, o] of this.configFiles) {
      if (o.how === 'list') folders.push(f);
      else files.add(f);
    }
    // A file reached through a link is edited where it lies: that folder is watched too.
    this.aliases = new Map();
    this.links = new Set();
    for (const f of files) {
      const target = linkTarget(f);
      if (target === undefined) continue;
      this.links.add(f);
      const l = this.aliases.get(target);
      if (l) l.push(f);
      else this.aliases.set(target, [f]);
    }
    for (const target of this.aliases.keys()) files.add(target);
    return { files: [...files], trees: [...trees], folders };
  }

  /** How many files the selection names (shown while waiting); undefined: count again. */
  private files: number | undefined;

  private fileCount(): number {
    return (this.files ??= this.countFiles());
  }

  private countFiles(): number {
    const ws = this.ws;
    const seen = new Set<string>();
    for (const id of this.selected) {
      const n = ws.graph.nodes[id]!;
      for (const { path: p } of n.literalInputs) seen.add(p);
      for (const o of n.outputs) seen.add(o);
      for (const spec of n.globInputs) for (const f of ws.graph.globMatches.get(spec) ?? []) seen.add(f);
    }
    for (const f of this.configFiles.keys()) seen.add(relPath(ws.root, f));
    return seen.size;
  }

  // ---------------------------------------------------------------------------------------
  // Stopping

  private onSignal(sig: NodeJS.Signals): void {
    if (this.locking) {
      // Waiting for another sbuild's writer lock: nothing of ours runs.
      this.hasher?.save();
      process.exit(130);
    }
    this.stop(130);
    // A build stops as `sbuild` stops one: its jobs get the signal (a second one kills them).
    this.scheduler?.interrupt(sig);
  }

  /** No more builds: the command ends with `code` once the work in hand (a build) is over. */
  private stop(code: number): void {
    if (!this.stopping) this.exitCode = code;
    this.stopping = true;
    this.debouncer.close();
    this.watcher.close();
    if (!this.building) this.settle();
  }

  private settle(): void {
    this.finished?.(this.exitCode);
    this.finished = undefined;
  }

  private say(text: string, json: Record<string, unknown>): void {
    if (this.json) this.out(JSON.stringify(json));
    else this.out(`sbuild: ${text}`);
  }
}

/**
 * One build of the selection in `ws`, as `sbuild [targets]` runs it (src/cli/commands/build.ts).
 * Kept to this one function so that a change in how builds are planned and queued is made here.
 * `changed`: the paths changed since a build that left every selected target fresh (only what
 * they touch is judged); undefined: judge everything.
 */
export async function runBuild(ws: Workspace, planned: Plan, session: BuildSession, opts: Options, listener: Listener, started: (s: Scheduler) => void): Promise<{ result: BuildResult; plan: Plan }> {
  const scheduler = new Scheduler(ws, planned, {
    jobs: opts.jobs ?? defaultJobs(), keepGoing: opts.keepGoing, gpuFlag: opts.gpus,
    executor: new LocalExecutor(session.jobs), listener, session,
    ...(await slurmOptions(ws, opts)),
  });
  started(scheduler);
  return { result: await scheduler.run(), plan: planned };
}

/**
 * The targets of the selection that need not be judged, given the paths changed since a
 * build that left them all fresh (engine/dirty.ts); undefined: judge them all. A target whose
 * outputs this process did not last see on disk (absent ones: fresh by their record, their
 * files not there; or a stat dropped with a folder's) is judged too, with what is downstream
 * of it: a dependent that runs must find it absent to have it produced first.
 */
export function cleanSince(ws: Workspace, sel: Selection, changed: string[]): Set<number> | undefined {
  const unseen: string[] = [];
  for (const id of sel.selected) {
    const n = ws.graph.nodes[id]!;
    if (!n.group && n.outputs.some((o) => !ws.hasher.statMemo(o))) unseen.push(n.name);
  }
  return cleanTargets(ws.graph, sel, { paths: changed, targets: unseen });
}

/**
 * What the config load looked at, as it stands now: the files and folders rules noted, what
 * its own code asked the file system about inside the workspace, apart from sbuild's state,
 * version control and dependencies (config/load-observer.ts), and its source files (`sources`:
 * their bytes as compiled, not read again).
 */
function observedReads(root: string | undefined, files: Array<[string, ConfigRead]>, seen: Map<string, ConfigRead>, sources = new Map<string, string>()): Map<string, ConfigSeen> {
  const how = new Map<string, ConfigRead>();
  for (const [f, h] of files) addRead(how, f, h);
  if (root !== undefined) {
    for (const [p, h] of seen) {
      const rel = relPath(root, p);
      if (!path.isAbsolute(rel) && !ignoredPath(rel)) addRead(how, p, h);
    }
  }
  const out = new Map([...how].filter(([p]) => !sources.has(p)).map(([p, h]): [string, ConfigSeen] => [p, { how: h, seen: observe(p, h) }]));
  for (const [f, hash] of sources) out.set(f, { how: 'read', seen: hash });
  return out;
}

/** Where a link leads (absolute, through every link on the way; one step when it leads nowhere yet); undefined for a path that is no link. */
function linkTarget(abs: string): string | undefined {
  try {
    if (!fs.lstatSync(abs).isSymbolicLink()) return undefined;
  } catch {
    return undefined;
  }
  try {
    return fs.realpathSync(abs);
  } catch {
    try {
      return path.resolve(path.dirname(abs), fs.readlinkSync(abs));
    } catch {
      return undefined;
    }
  }
}

/** "configs/a.py", "configs/a.py and configs/b.py", "configs/a.py and 3 other files". */
function describe(names: string[], what = 'files'): string {
  return names.length <= 2 ? names.join(' and ') : `${names[0]} and ${names.length - 1} other ${what}`;
}
