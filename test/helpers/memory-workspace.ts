// A workspace built from target definitions held in this process: no tasks.config.ts, no
// esbuild, no config loading. openWorkspace takes a preloaded config, so this hands it one
// (validated, graphed, hashed and locked exactly as a loaded one would be). Files live in a
// fresh temp folder that the test writes; plans and builds run in this process, with the
// fake executor (test/helpers/fake-executor.ts) in place of processes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import type { Config, Target } from '../../src/config/types.js';
import type { LoadedConfig } from '../../src/config/load.js';
import { openWorkspace, type Workspace } from '../../src/engine/workspace.js';
import { selection } from '../../src/engine/selection.js';
import { select } from '../../src/graph/select.js';
import { plan, type Plan } from '../../src/engine/plan.js';
import { Scheduler, type BuildResult } from '../../src/engine/scheduler.js';
import type { BuildEvent } from '../../src/engine/events.js';
import { FakeExecutor } from './fake-executor.js';
import { WorkspaceFiles } from './files.js';

export interface BuildOpts {
  force?: boolean;
  jobs?: number;
  keepGoing?: boolean;
  gpuFlag?: string;
  /** Default: a new auto-mode FakeExecutor. */
  executor?: FakeExecutor;
}

/** A build under way: its scheduler, executor and events; `done` is its result. */
export interface Build {
  ws: Workspace;
  scheduler: Scheduler;
  ex: FakeExecutor;
  events: BuildEvent[];
  done: Promise<BuildResult>;
}

export class MemoryWorkspace extends WorkspaceFiles {
  readonly root: string;
  config: Omit<Config, 'targets'> & { targets: Target[] };

  constructor(config: Omit<Config, 'targets'> & { targets: Target[] }) {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-unit-')));
    super(root);
    this.root = root;
    this.config = config;
  }

  /** The config as loadConfig would hand it over (one private copy of each target per open). */
  loaded(): LoadedConfig {
    return {
      config: { ...this.config, targets: this.config.targets.map((t) => ({ ...t })) },
      root: this.root,
      file: path.join(this.root, 'tasks.config.ts'),
      sources: new Map(),
    };
  }

  /** A workspace as a command opens it: the lock, stat cache and graph read afresh. */
  open(): Promise<Workspace> {
    return openWorkspace(this.root, {}, this.loaded());
  }

  remove(rel: string): void {
    fs.rmSync(this.path(rel), { recursive: true, force: true });
  }

  /** The plan a command naming `targets` would make now (all targets when none are named). */
  async plan(targets: string[] = [], force = false): Promise<Plan> {
    const ws = await this.open();
    return plan(ws, selection(ws.graph, this.rootsOf(ws, targets), force));
  }

  /** Starts a build of `targets` (all when none are named) on a freshly opened workspace. */
  async start(targets: string[] = [], o: BuildOpts = {}): Promise<Build> {
    const ws = await this.open();
    const ex = o.executor ?? new FakeExecutor({ auto: true });
    const events: BuildEvent[] = [];
    const scheduler = new Scheduler(ws, plan(ws, selection(ws.graph, this.rootsOf(ws, targets), o.force ?? false)), {
      jobs: o.jobs ?? 4, keepGoing: o.keepGoing ?? false, gpuFlag: o.gpuFlag ?? 'none', executor: ex, listener: (e) => events.push(e),
    });
    return { ws, scheduler, ex, events, done: scheduler.run() };
  }

  /** A whole build: started and awaited. */
  async build(targets: string[] = [], o: BuildOpts = {}): Promise<BuildResult & { ex: FakeExecutor; events: BuildEvent[] }> {
    const b = await this.start(targets, o);
    return { ...(await b.done), ex: b.ex, events: b.events };
  }

  /** The targets recorded in sbuild.lock on disk, sorted. */
  lockedNames(): string[] {
    if (!this.exists('sbuild.lock')) return [];
    return Object.keys((JSON.parse(this.read('sbuild.lock')) as { targets: object }).targets).sort();
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private rootsOf(ws: Workspace, targets: string[]): number[] {
    return targets.length ? select(ws.graph, targets) : ws.graph.nodes.map((n) => n.id);
  }
}

/** A maker of memory workspaces that are all removed when the test file ends. */
export function useMemoryWorkspaces(): (config: Omit<Config, 'targets'> & { targets: Target[] }) => MemoryWorkspace {
  const made: MemoryWorkspace[] = [];
  after(() => made.forEach((m) => m.cleanup()));
  return (config) => {
    const m = new MemoryWorkspace(config);
    made.push(m);
    return m;
  };
}

/** A command target: reads `inputs` (and its deps' outputs), writes `outputs`. The command is never run here. */
export function cmd(name: string, inputs: string[], outputs: string[], extra: Partial<Target> = {}): Target {
  return { name, inputs, outputs, run: `make ${name}`, ...extra };
}
