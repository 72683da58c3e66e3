// One build's place among the builds under way (engine/live-builds.ts): its registration, kept
// current as its targets finish, its journal and jobs record, and its end, which folds the
// journal into sbuild.lock under the state lock.
import type { Graph } from '../graph/graph.js';
import type { Plan } from './plan.js';
import { acquireWriterLock } from './writer-lock.js';
import { foldJournal, jobsFile, journalFile, lastSeq, listBuilds, removeBuild, writeRegistration, type Registration } from './live-builds.js';
import { buildsDir, journalPath } from './state-paths.js';
import { writeLock, type LockFile } from './lockfile.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileStamp } from '../util/fs.js';

/** How often a build with finished targets looks for another build that may be waiting for them. */
const FLUSH_MS = 150;

/** What a plan makes a build claim and read, and which claims stay until its end. */
export interface Claims {
  claims: Set<string>;
  reads: Set<string>;
  /** Each claimed target's dependencies (non-group, through groups). */
  deps: Map<string, string[]>;
  /**
   * Claims kept until the end: targets below one the plan found absent (fresh by its record,
   * its files not on disk). Producing it with other bytes than its record makes the build
   * judge those again (scheduler.ts), so they are never handed to another build before.
   */
  pinned: Set<string>;
}

export function claimsOf(graph: Graph, plan: Plan): Claims {
  const claims = new Set<string>();
  const deps = new Map<string, string[]>();
  const pinned = new Set<string>();
  const absent: number[] = [];
  for (const [id, step] of plan.steps) {
    if (plan.settled.has(id)) continue;
    claims.add(step.name);
    // Absent, or absent and already known to be needed by a dependent that runs.
    if (step.need === 'absent' || step.reasons.some((r) => r.kind === 'needed-by')) absent.push(id);
  }
  const depsOf = (id: number): string[] => {
    const out = new Set<string>();
    const stack = [...graph.nodes[id]!.deps];
    while (stack.length) {
      const d = graph.nodes[stack.pop()!]!;
      if (d.group) stack.push(...d.deps);
      else out.add(d.name);
    }
    return [...out];
  };
  for (const name of claims) deps.set(name, depsOf(graph.byName.get(name)!.id));
  heldBelow(graph, absent, claims, pinned);
  return { claims, reads: readsOf(claims, deps), deps, pinned };
}

/** Adds to `into` the targets of `claims` at or below `starts` (they stay held to the build's end). */
function heldBelow(graph: Graph, starts: number[], claims: ReadonlySet<string>, into: Set<string>): void {
  const stack = [...starts];
  const seen = new Set<number>();
  while (stack.length) {
    const n = graph.nodes[stack.pop()!]!;
    if (seen.has(n.id)) continue;
    seen.add(n.id);
    if (claims.has(n.name)) into.add(n.name);
    stack.push(...n.dependents);
  }
}

function readsOf(claims: Set<string>, deps: Map<string, string[]>): Set<string> {
  const reads = new Set<string>();
  for (const c of claims) for (const d of deps.get(c) ?? []) if (!claims.has(d)) reads.add(d);
  return reads;
}

export class BuildSession {
  private readonly claims: Set<string>;
  private timer: NodeJS.Timeout | undefined;

  /** sbuild.lock's stat when this build registered. */
  private readonly lockStat: string;

  /**
   * `alone`: no other build was registered when this one was. `lock`: the lock as this build
   * holds it in memory (what it read at registration, plus its own records).
   */
  constructor(readonly root: string, private readonly graph: Graph, private readonly reg: Registration, private readonly plan: Claims, private readonly alone: boolean, private readonly lock: LockFile) {
    this.claims = new Set(plan.claims);
    this.lockStat = fileStamp(path.join(root, 'sbuild.lock'));
  }

  get id(): string {
    return this.reg.id;
  }

  get journal(): string {
    return journalFile(this.root, this.reg.id);
  }

  get jobs(): string {
    return jobsFile(this.root, this.reg.id);
  }

  /** A target reached its end in this build: another build may take it now. */
  settled(name: string): void {
    if (this.plan.pinned.has(name) || !this.claims.delete(name)) return;
    this.timer ??= setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** Still this build's: not yet handed to other builds. */
  holds(name: string): boolean {
    return this.claims.has(name);
  }

  /**
   * A target the build found absent while it ran: what is below it (and still held) stays
   * held to the end, as for the absent targets the plan found (see Claims.pinned).
   */
  pinBelow(id: number): void {
    heldBelow(this.graph, [id], this.claims, this.plan.pinned);
  }

  /** Writes the shrunk registration, when another build is there to read it. */
  private flush(): void {
    let others: boolean;
    try {
      others = fs.readdirSync(buildsDir(this.root)).some((n) => n.endsWith('.json') && n !== `${this.reg.id}.json`);
    } catch {
      others = false;
    }
    if (!others) return;
    this.reg.claims = [...this.claims];
    this.reg.reads = [...readsOf(this.claims, this.plan.deps)];
    writeRegistration(this.root, this.reg);
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * The end of the build: under the state lock, its journal into sbuild.lock and its files
   * removed. `whileLocked` runs before the lock is released, told whether this build was alone
   * from start to end (then the lock and the files are as this build knows them).
   */
  async end(onWait: (m: string) => void, whileLocked: (alone: boolean) => void): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Its records must land: the lock is waited for, --no-wait or not.
    const lock = await acquireWriterLock(this.root, { wait: true, onWait });
    try {
      const others = listBuilds(this.root).some((b) => b.id !== this.reg.id);
      const alone = this.alone && lastSeq(this.root) === this.reg.seq && !others;
      if (alone && fileStamp(path.join(this.root, 'sbuild.lock')) === this.lockStat && !fs.existsSync(journalPath(this.root))) {
        // Nobody else wrote sbuild.lock meanwhile: what this build holds is the fold's result,
        // without reading the file again.
        writeLock(this.root, this.lock);
        fs.rmSync(this.journal, { force: true });
      } else foldJournal(this.root, this.reg.id, this.reg.seq);
      whileLocked(alone);
    } finally {
      // Its claims end with it, whatever went wrong after the fold.
      removeBuild(this.root, this.reg.id);
      lock.release();
    }
  }
}

