// The scheduler: a ready queue over the requested subgraph. A target is evaluated (fresh or
// not) only once all its dependencies have finished, so its fingerprint sees their real
// output hashes (early cutoff falls out of this); stale targets wait for a job slot and their
// resources, critical path first. Freshness lives in rebuilder.ts, running in executors/.
import fs from 'node:fs';
import path from 'node:path';
import type { GraphNode } from '../graph/graph.js';
import { closure, ownerAbove } from '../graph/graph.js';
import type { Executor, Job, JobResult } from '../executors/executor.js';
import { normalizeRel, OutputEscape, prepareOutput, removeInside } from '../util/fs.js';
import type { BuildEvent, Listener } from './events.js';
import type { Reason } from './reasons.js';
import type { Current } from './rebuilder.js';
import { entryFrom } from './rebuilder.js';
import { LINEAGE_PREFIX } from './reasons.js';
import { complete, fetchRemote, restoreOutputs, storeOutputs, upload } from '../cache/outputs.js';
import { CorruptEntry } from '../cache/local-store.js';
import type { ActionResult } from '../cache/cache.js';
import type { OutputRecord } from './lockfile.js';
import type { Sha256 } from '../hashing/sha256.js';
import { Journal } from './lockfile.js';
import { History } from './history.js';
import { Timeline } from './timeline.js';
import { Pools, detectGpus } from './pools.js';
import type { Workspace } from './workspace.js';
import { phase } from '../util/timing.js';
import { clearFailed, moveAside, withMovedClause } from './failed.js';

/** The facts a command job carries: none (it cannot read them). */
const NO_FACTS: Job['facts'] = Object.freeze({ hashes: {}, fingerprint: '', provenance: () => undefined, lineage: () => [] });

export interface BuildOptions {
  jobs: number;
  keepGoing: boolean;
  /** -B: rerun the requested targets (through groups, not their dependencies) even when fresh. */
  force: boolean;
  dryRun: boolean;
  /** `--gpus` as given (undefined: the config, CUDA_VISIBLE_DEVICES, then nvidia-smi). */
  gpuFlag: string | undefined;
  executor: Executor;
  listener: Listener;
  /** Targets that run on Slurm, its executor, and how many jobs may be submitted at once. */
  slurm?: { executor: Executor; onSlurm: (node: GraphNode) => boolean; maxJobs: number };
}

export interface BuildResult {
  ran: string[];
  /** Restored from the cache instead of run. */
  restored: string[];
  fresh: string[];
  failed: string[];
  blocked: string[];
  /** Dry run: what would run, with reasons. */
  wouldRun: Array<{ name: string; reasons: Reason[]; restore: boolean }>;
  interrupted: boolean;
  /** A failure was an action reporting bad input (exit code 2). */
  badInput?: boolean;
}

type State = 'waiting' | 'held' | 'fetching' | 'queued' | 'running' | 'fresh' | 'ran' | 'restored' | 'failed' | 'blocked';

interface Queued {
  node: GraphNode;
  cur: Current;
  reasons: Reason[];
  priority: number;
}

export class Scheduler {
  private readonly selected: Set<number>;
  private readonly forced = new Set<number>();
  private readonly requested = new Set<number>();
  /**
   * Fresh targets whose outputs are absent (a fresh clone without checkpoints): their recorded
   * outputs stand in for dependents' fingerprints, and they are produced (restored or rerun)
   * only when a dependent that must run needs the files.
   */
  private readonly absent = new Map<number, Current>();
  /** Absent targets being produced for a dependent (already counted as complete). */
  private readonly producing = new Set<number>();
  /** Dependents held until the absent upstreams they read are produced. */
  private readonly held = new Map<number, Set<number>>();
  private readonly state = new Map<number, State>();
  private readonly pending = new Map<number, number>();
  /** Output records in effect this build, for dependents' input hashes. */
  private readonly outputs = new Map<number, Record<string, OutputRecord>>();
  /** Targets that ran (or would run, in a dry run) this build. */
  private readonly changed = new Set<number>();
  private readonly queue: Queued[] = [];
  private readonly toEvaluate: number[] = [];
  private readonly abort = new AbortController();
  private readonly timeline = new Timeline();
  /** Jobs submitted to Slurm and not yet ended (they take no -j slot). */
  private submitted = 0;
  private readonly journal: Journal;
  private readonly result: BuildResult = { ran: [], restored: [], fresh: [], failed: [], blocked: [], wouldRun: [], interrupted: false };
  private pools: Pools | undefined;
  private history: History | undefined;
  private priorities: Map<number, number> | undefined;
  private running = 0;
  /** Set when a pass must be followed by another (see record()). */
  private again = false;
  /** Dry runs: files inside folders a restore would bring back, by path → hash. */
  private readonly overlay = new Map<string, Sha256>();
  /** Remote cache lookups in flight. */
  private inflight = 0;
  private readonly uploads: Array<Promise<void>> = [];
  private stopping = false;
  private finish: (() => void) | undefined;

  constructor(private readonly ws: Workspace, roots: number[], private readonly opts: BuildOptions) {
    this.selected = closure(ws.graph, roots);
    // Asked for directly: the roots, and through groups the targets they name.
    const stack = [...roots];
    while (stack.length) {
      const n = ws.graph.nodes[stack.pop()!]!;
      if (this.requested.has(n.id)) continue;
      this.requested.add(n.id);
      if (n.group) stack.push(...n.deps);
    }
    if (opts.force) for (const id of this.requested) this.forced.add(id);
    this.journal = new Journal(ws.root);
  }

  private emit(e: BuildEvent): void {
    this.opts.listener(e);
  }

  async run(): Promise<BuildResult> {
    const t0 = performance.now();
    const { graph } = this.ws;
    this.emit({ type: 'plan', selected: [...this.selected].filter((id) => !graph.nodes[id]!.group).length, toRun: 0 });
    // Usually one pass. A restarting second pass follows only when an absent intermediate was
    // produced with other bytes than its record (non-deterministic jobs): what was judged
    // against the record is judged again against the real files.
    for (let pass = 0; pass < 3; pass++) {
      this.again = false;
      this.state.clear();
      this.pending.clear();
      this.outputs.clear();
      this.changed.clear();
      this.queue.length = 0;
      this.absent.clear();
      this.producing.clear();
      this.held.clear();
      this.result.fresh.length = 0;
      for (const id of graph.order) {
        if (!this.selected.has(id)) continue;
        this.state.set(id, 'waiting');
        const n = graph.nodes[id]!.deps.length;
        this.pending.set(id, n);
        if (n === 0) this.toEvaluate.push(id);
      }
      const done = new Promise<void>((resolve) => (this.finish = resolve));
      this.pump();
      await done;
      if (!this.again || this.stopping || this.result.failed.length) break;
    }
    await Promise.all(this.uploads);
    this.opts.executor.close?.();
    this.opts.slurm?.executor.close?.();
    phase('schedule');
    if (this.opts.dryRun) {
      this.ws.hasher.save(); // a dry run never writes sbuild.lock
    } else {
      this.ws.save();
      this.history?.save();
      this.timeline.save(this.ws.root);
      this.journal.close(true);
    }
    phase('save state');
    const r = this.result;
    this.emit({
      type: 'summary', ran: r.ran.length + r.wouldRun.length, restored: r.restored.length, fresh: r.fresh.length, failed: r.failed.length, blocked: r.blocked.length,
      ms: performance.now() - t0, interrupted: r.interrupted, dryRun: this.opts.dryRun,
    });
    return r;
  }

  /** Ctrl-C / SIGTERM: forward to running jobs, start nothing new, keep what finished. */
  interrupt(signal: NodeJS.Signals): void {
    if (this.result.interrupted) {
      this.opts.executor.signalAll('SIGKILL');
      this.opts.slurm?.executor.signalAll('SIGKILL');
      return;
    }
    this.result.interrupted = true;
    this.stopping = true;
    this.abort.abort();
    this.ws.remote?.cancel();
    this.opts.executor.signalAll(signal);
    this.opts.slurm?.executor.signalAll(signal);
    this.pump();
  }

  /** Evaluates everything ready, starts what fits, and resolves when nothing is left to do. */
  private pump(): void {
    // An index, not shift(): on a cold build this list holds thousands of ids.
    for (let i = 0; i < this.toEvaluate.length; i++) this.evaluate(this.toEvaluate[i]!);
    this.toEvaluate.length = 0;
    if (!this.stopping) this.dispatch();
    if (this.running === 0 && this.submitted === 0 && this.inflight === 0 && (this.stopping || this.queue.length === 0) && this.toEvaluate.length === 0) {
      this.finish?.();
      this.finish = undefined;
    }
  }

  private evaluate(id: number): void {
    if (this.state.get(id) !== 'waiting') return;
    const node = this.ws.graph.nodes[id]!;
    if (node.group) return this.complete(id, 'fresh');
    const entry = this.ws.lock.entries.get(node.name);
    const upstreamChanged = node.deps.some((d) => this.changed.has(d));
    const cur = this.ws.rebuilder.current(node, (d) => this.outputs.get(d), upstreamChanged && !this.opts.dryRun, entry, this.overlay);
    const decision = this.ws.rebuilder.decide(cur, entry, this.forced.has(id));
    if (this.opts.dryRun) {
      let reasons = decision.fresh ? [] : decision.reasons;
      // Input differences that lie in outputs of upstreams that will run or be restored are
      // theirs to settle: say so instead of blaming the files as they are now.
      const fromUpstream = (r: Reason) =>
        (r.kind === 'input-changed' || r.kind === 'input-added' || r.kind === 'input-removed' || r.kind === 'input-missing') &&
        this.changed.has(ownerAbove(this.ws.graph.outputOwner, r.path.replace(/\/$/, '')) ?? -1);
      if (upstreamChanged && (decision.fresh || reasons.every(fromUpstream))) {
        reasons = [{ kind: 'upstream-will-run', dep: this.ws.graph.nodes[node.deps.find((d) => this.changed.has(d))!]!.name }];
      }
      if (entry) this.outputs.set(id, entry.outputs);
      const onlyAbsent = entry && !this.requested.has(id) && reasons.length > 0 && reasons.every((r) => r.kind === 'output-missing');
      if (onlyAbsent && this.cachedOutputs(node, cur)) {
        this.result.wouldRun.push({ name: node.name, reasons, restore: true });
        this.emit({ type: 'would-run', name: node.name, reasons, restore: true });
        return this.complete(id, 'ran');
      }
      if (onlyAbsent) this.absent.set(id, cur);
      if (reasons.length === 0 || onlyAbsent) return this.complete(id, 'fresh');
      // Its own inputs are known, so the cache can be asked: a restore gives known outputs.
      const cached = !decision.fresh && !upstreamChanged && !this.forced.has(id) ? this.cachedOutputs(node, cur) : undefined;
      // What a restore would bring is known by hash, files inside restored folders included.
      if (cached) this.outputs.set(id, cached);
      else {
        this.changed.add(id);
        this.listAbsentInputs(node);
      }
      this.result.wouldRun.push({ name: node.name, reasons, restore: !!cached });
      this.emit({ type: 'would-run', name: node.name, reasons, restore: !!cached });
      return this.complete(id, 'ran');
    }
    if (decision.fresh) {
      this.outputs.set(id, entry!.outputs);
      return this.complete(id, 'fresh');
    }
    if (entry && !this.requested.has(id) && decision.reasons.every((r) => r.kind === 'output-missing')) {
      // Deleted outputs that the local cache holds come back (a copy, no compute), so the
      // workspace is whole again; without them (a fresh clone) the target stays absent.
      if (this.cachedAction(node, cur) && this.tryRestore(node, cur, decision.reasons)) return;
      this.outputs.set(id, entry.outputs);
      this.absent.set(id, cur);
      return this.complete(id, 'fresh');
    }
    if (!this.forced.has(id) && this.tryRestore(node, cur, decision.reasons)) return;
    if (!this.forced.has(id) && this.tryRemote(node, cur, decision.reasons, () => this.afterMiss(node, cur, decision.reasons))) return;
    this.afterMiss(node, cur, decision.reasons);
  }

  /** Not in any cache: wait for absent inputs, or queue the target to run. */
  private afterMiss(node: GraphNode, cur: Current, reasons: Reason[]): void {
    if (this.holdForAbsentInputs(node)) return;
    if (cur.missing.length) {
      return this.fail(node, 0, `blocked: missing input ${cur.missing.map((m) => `'${m}'`).join(', ')} of target '${node.name}' (no target produces it, or an upstream target did not). Put the file back, or fix the input list.`);
    }
    this.enqueue(node, cur, reasons);
  }

  /**
   * Looks the fingerprint up in the remote cache (asynchronously). True when a lookup started:
   * on a hit the outputs are restored, on a miss `onMiss` continues.
   */
  private tryRemote(node: GraphNode, cur: Current, reasons: Reason[], onMiss: () => void): boolean {
    const remote = this.ws.remote;
    if (!remote?.enabled || node.target.cache === false || this.opts.dryRun) return false;
    this.state.set(node.id, 'fetching');
    this.inflight++;
    void fetchRemote(remote, this.ws.store, node, cur.fingerprint)
      .catch(() => false)
      .then((hit) => {
        this.inflight--;
        if (!hit || !this.tryRestore(node, cur, reasons)) onMiss();
        this.pump();
      });
    return true;
  }

  /** The local cache's complete entry for this fingerprint, if any (a look, nothing restored). */
  private cachedAction(node: GraphNode, cur: Current): ActionResult | undefined {
    if (node.target.cache === false) return undefined;
    try {
      const r = this.ws.store.getAction(cur.fingerprint);
      return r && complete(this.ws.store, r, node) ? r : undefined;
    } catch {
      return undefined;
    }
  }

  /** The output records the local cache would restore for this fingerprint (dry runs). */
  private cachedOutputs(node: GraphNode, cur: Current): Record<string, OutputRecord> | undefined {
    const r = this.cachedAction(node, cur);
    if (!r) return undefined;
    const out: Record<string, OutputRecord> = {};
    for (const [p, o] of Object.entries(r.outputs)) {
      out[p] = o.kind === 'file' ? { hash: o.hash, size: o.size } : { hash: o.hash, size: o.size, files: Object.keys(o.files).length };
      if (o.kind === 'dir') for (const [f, c] of Object.entries(o.files)) this.overlay.set(`${p}/${f}`, c.hash);
    }
    return out;
  }

  /** Absent upstream targets whose files this target reads (through groups). */
  private absentInputs(node: GraphNode): number[] {
    const out: number[] = [];
    const seen = new Set<number>();
    const stack = [...node.deps];
    while (stack.length) {
      const d = stack.pop()!;
      if (seen.has(d)) continue;
      seen.add(d);
      const dn = this.ws.graph.nodes[d]!;
      if (dn.group) stack.push(...dn.deps);
      else if (this.absent.has(d) || this.producing.has(d)) out.push(d);
    }
    return out;
  }

  /** Dry runs: the absent upstreams a target that would run needs are listed too (restored or run). */
  private listAbsentInputs(node: GraphNode): void {
    for (const u of this.absentInputs(node)) {
      const cur = this.absent.get(u);
      if (!cur) continue;
      this.absent.delete(u);
      const un = this.ws.graph.nodes[u]!;
      const i = this.result.fresh.indexOf(un.name);
      if (i >= 0) this.result.fresh.splice(i, 1);
      const restore = this.cachedOutputs(un, cur) !== undefined;
      if (!restore) this.listAbsentInputs(un);
      const reasons: Reason[] = [...un.outputs.map((p) => ({ kind: 'output-missing' as const, path: p })), { kind: 'needed-by', dependent: node.name }];
      this.result.wouldRun.push({ name: un.name, reasons, restore });
      this.emit({ type: 'would-run', name: un.name, reasons, restore });
    }
  }

  /** Holds a target that must run until the absent files it reads are produced. */
  private holdForAbsentInputs(node: GraphNode): boolean {
    const need = this.absentInputs(node);
    if (need.length === 0) return false;
    this.state.set(node.id, 'held');
    this.held.set(node.id, new Set(need));
    for (const u of need) if (this.absent.has(u)) this.produce(u, node.name); // the others are on their way
    return true;
  }

  /** Brings back an absent target's outputs: from the cache, else by running it. */
  private produce(id: number, neededBy: string): void {
    const cur = this.absent.get(id);
    if (!cur) return; // already being produced
    this.absent.delete(id);
    this.producing.add(id);
    const node = this.ws.graph.nodes[id]!;
    const i = this.result.fresh.indexOf(node.name);
    if (i >= 0) this.result.fresh.splice(i, 1); // counted again as ran or restored
    const reasons: Reason[] = [...node.outputs.map((p) => ({ kind: 'output-missing' as const, path: p })), { kind: 'needed-by', dependent: neededBy }];
    if (this.tryRestore(node, cur, reasons)) return;
    if (this.tryRemote(node, cur, reasons, () => this.afterMiss(node, cur, reasons))) return;
    this.afterMiss(node, cur, reasons);
  }

  /** An absent upstream is back: release the dependents it held (they are judged afresh). */
  private produced(id: number, ok: boolean): void {
    this.producing.delete(id);
    for (const [d, need] of this.held) {
      if (!need.delete(id)) continue;
      const dn = this.ws.graph.nodes[d]!;
      if (!ok) {
        this.held.delete(d);
        if (this.producing.has(d)) {
          // An absent target waiting for its own absent inputs: blocked, record kept.
          this.result.blocked.push(dn.name);
          this.state.set(d, 'blocked');
          if (!this.result.interrupted) this.emit({ type: 'blocked', name: dn.name, dep: this.ws.graph.nodes[id]!.name });
          this.produced(d, false);
          continue;
        }
        this.state.set(d, 'waiting');
        this.complete(d, 'blocked');
        if (!this.result.interrupted) this.emit({ type: 'blocked', name: dn.name, dep: this.ws.graph.nodes[id]!.name });
        continue;
      }
      if (need.size) continue;
      this.held.delete(d);
      if (this.producing.has(d)) {
        // An absent target that was itself waiting for inputs: now produce it.
        this.producing.delete(d);
        this.absent.set(d, this.ws.rebuilder.current(dn, (x) => this.outputs.get(x), true, this.ws.lock.entries.get(dn.name)));
        this.produce(d, 'a dependent');
      } else {
        this.state.set(d, 'waiting');
        this.toEvaluate.push(d);
      }
    }
  }

  /** Restores the outputs recorded in the cache for this exact fingerprint, if all are there. */
  private tryRestore(node: GraphNode, cur: Current, reasons: Reason[]): boolean {
    if (node.target.cache === false) return false;
    const { store, hasher, root } = this.ws;
    try {
      const result = store.getAction(cur.fingerprint);
      if (!result || !complete(store, result, node)) return false;
      restoreOutputs(store, hasher, root, result);
    } catch (err) {
      this.emit({ type: 'warning', message: err instanceof CorruptEntry ? err.message : `cache restore of '${node.name}' failed: ${(err as Error).message}; running it` });
      for (const o of node.outputs) removeInside(root, o);
      return false;
    }
    const { outputs, notProduced } = this.ws.rebuilder.hashOutputs(node);
    if (notProduced.length) return false;
    this.record(node, cur, outputs);
    this.timeline.begin(node.name, 'local', []);
    this.timeline.end(node.name, 'restored');
    this.emit({ type: 'restored', name: node.name, fingerprint: cur.fingerprint, reasons });
    this.finished(node.id, 'restored');
    return true;
  }

  /** Input hashes and provenance handed to an in-process action. */
  private factsFor(node: GraphNode, cur: Current): Job['facts'] {
    const graph = this.ws.graph;
    const lock = this.ws.lock;
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
        const owner = ownerAbove(graph.outputOwner, normalizeRel(this.ws.root, rel) ?? rel);
        return owner === undefined ? undefined : of(graph.nodes[owner]!.name);
      },
      lineage: () => this.ws.rebuilder.lineageOf(node).map(of).filter((x) => x !== undefined),
    };
  }

  /** A target's new outputs: into the lock, the journal, and what its dependents will see. */
  private record(node: GraphNode, cur: Current, outputs: Record<string, OutputRecord>): void {
    const lent = this.producing.has(node.id) ? this.outputs.get(node.id) : undefined;
    if (lent && Object.keys(outputs).some((p) => lent[p]?.hash !== outputs[p]!.hash)) {
      // Dependents judged fresh against the recorded outputs saw other bytes: judge again.
      this.again = true;
    }
    const entry = entryFrom(cur, outputs);
    this.ws.lock.entries.set(node.name, entry);
    this.ws.lock.dirty = true;
    this.journal.record(node.name, entry);
    this.outputs.set(node.id, outputs);
    this.changed.add(node.id);
    this.ws.rebuilder.outputsWritten(node.outputs);
  }

  private onSlurm(node: GraphNode): boolean {
    return this.opts.slurm?.onSlurm(node) ?? false;
  }

  private enqueue(node: GraphNode, cur: Current, reasons: Reason[]): void {
    const res = node.target.resources;
    // On Slurm the cluster owns the resources: it queues the job or rejects it at submission.
    if (res && Object.values(res).some((v) => v) && !this.onSlurm(node)) {
      this.pools ??= new Pools(detectGpus(this.opts.gpuFlag, this.ws.config.gpus, process.env), this.ws.config.pools ?? {});
      const why = this.pools.impossible(res);
      if (why && !(node.target.cpuFallback && (res.gpu ?? 0) > 0 && this.pools.gpus.length === 0 && !this.pools.impossible({ ...res, gpu: 0 }))) {
        const hint = (res.gpu ?? 0) > 0 && this.pools.gpus.length === 0
          ? " Run on a machine with a GPU, pass --gpus IDS, or set `cpuFallback: true` on the target to run it on the CPU."
          : (res.gpu ?? 0) > 0 ? ' Lower its `resources.gpu`, or pass more ids with --gpus.' : '';
        return this.fail(node, 0, `target '${node.name}' ${why}.${hint}`);
      }
    }
    this.priorities ??= this.computePriorities();
    this.state.set(node.id, 'queued');
    const item: Queued = { node, cur, reasons, priority: this.priorities.get(node.id) ?? 0 };
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.priority < item.priority) i--;
    this.queue.splice(i, 0, item);
  }

  /** Longest remaining path (by last recorded durations, 1 s when unknown) from each target. */
  private computePriorities(): Map<number, number> {
    this.history ??= new History(this.ws.root).load();
    const pr = new Map<number, number>();
    const order = this.ws.graph.order;
    for (let i = order.length - 1; i >= 0; i--) {
      const id = order[i]!;
      if (!this.selected.has(id)) continue;
      const node = this.ws.graph.nodes[id]!;
      let best = 0;
      for (const d of node.dependents) if (this.selected.has(d)) best = Math.max(best, pr.get(d) ?? 0);
      pr.set(id, best + (node.group ? 0 : this.history.durations[node.name] ?? 1000));
    }
    return pr;
  }

  private dispatch(): void {
    const slurm = this.opts.slurm;
    for (let i = 0; i < this.queue.length; ) {
      // Nothing more can start: stop here rather than walk a long queue on every pump.
      if (this.running >= this.opts.jobs && (!slurm || this.submitted >= slurm.maxJobs)) break;
      const item = this.queue[i]!;
      if (this.onSlurm(item.node)) {
        // The cluster, not -j, limits these; --max-jobs caps what is submitted at once.
        if (this.submitted >= slurm!.maxJobs) {
          i++;
          continue;
        }
        this.queue.splice(i, 1);
        void this.start(item, [], true);
        continue;
      }
      if (this.running >= this.opts.jobs) {
        i++;
        continue;
      }
      const res = item.node.target.resources;
      const noGpu = (res?.gpu ?? 0) > 0 && this.pools!.gpus.length === 0;
      const gpus = res ? this.pools!.tryAcquire(noGpu ? { ...res, gpu: 0 } : res) : [];
      if (gpus === undefined) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      void this.start(item, gpus, false);
    }
  }

  private async start(item: Queued, gpus: string[], slurm: boolean): Promise<void> {
    const { node, cur, reasons } = item;
    const root = this.ws.root;
    if (slurm) this.submitted++;
    else this.running++;
    this.state.set(node.id, 'running');
    this.changed.add(node.id);
    this.emit({ type: 'start', name: node.name, reasons, gpus, ...(slurm ? { executor: 'slurm' as const } : {}) });
    this.timeline.begin(node.name, slurm ? 'slurm' : 'local', gpus);
    const t0 = performance.now();
    let result: JobResult;
    try {
      // Outputs are removed first: a command that fails to write one must not leave an old copy looking produced.
      for (const o of node.outputs) {
        prepareOutput(root, o, node.name); // refuses (the target fails) an output that resolves outside the workspace
        this.ws.hasher.forget(o);
      }
      this.ws.rebuilder.outputsWritten(node.outputs);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        CUDA_VISIBLE_DEVICES: gpus.join(','),
        SBUILD_GPU_IDS: gpus.join(','),
        SBUILD_TARGET: node.name,
        SBUILD_ROOT: root,
      };
      result = await (slurm ? this.opts.slurm!.executor : this.opts.executor).run({
        node, root, env, gpus,
        logFile: this.ws.logFile(node.name),
        inputs: Object.keys(cur.record.inputs).filter((p) => !p.startsWith(LINEAGE_PREFIX)).map((p) => p.replace(/\/$/, '')),
        signal: this.abort.signal,
        // Only in-process actions read these; commands do not pay for them.
        facts: typeof node.target.run === 'function' ? this.factsFor(node, cur) : NO_FACTS,
      });
    } catch (err) {
      // An output that resolves outside the workspace is the config's problem, said in full by its message.
      const escaped = err instanceof OutputEscape;
      result = { ok: false, reason: 'threw', message: (err as Error).message, command: node.name, ...(escaped ? { badInput: true } : {}) };
    }
    const ms = performance.now() - t0;
    if (slurm) this.submitted--;
    else {
      this.running--;
      this.pools?.release(node.target.resources, gpus);
    }
    if (!result.ok) {
      const badInput = result.reason === 'threw' && result.badInput === true;
      const msg =
        result.reason === 'exit' ? `command failed with exit code ${result.exitCode}` :
        result.reason === 'signal' ? `command was killed by ${result.signal}` :
        result.reason === 'spawn' ? `command could not start: ${result.message}` :
        badInput ? result.message : `action threw: ${result.message}`;
      if (badInput) this.result.badInput = true;
      // Bad input is said in full by the message; the log would only repeat it.
      this.fail(node, ms, this.setAside(node, msg), badInput ? undefined : result.command);
    } else {
      const { outputs, notProduced } = this.ws.rebuilder.hashOutputs(node);
      if (notProduced.length) {
        this.fail(node, ms, this.setAside(node, `the command succeeded but did not produce the declared output(s) ${notProduced.map((p) => `'${p}'`).join(', ')}. Make it write them, or fix \`outputs\`.`));
      } else {
        clearFailed(root, node.name);
        this.record(node, cur, outputs);
        if (node.target.cache !== false) {
          try {
            const stored = storeOutputs(this.ws.store, this.ws.hasher, this.ws.root, node, cur.fingerprint);
            const remote = this.ws.remote;
            if (stored && remote?.uploads) this.uploads.push(upload(remote, this.ws.store, cur.fingerprint, stored).catch(() => undefined));
          } catch (err) {
            this.emit({ type: 'warning', message: `could not cache the outputs of '${node.name}': ${(err as Error).message}` });
          }
        }
        this.history!.record(node.name, ms);
        this.timeline.end(node.name, 'ran');
        this.emit({ type: 'done', name: node.name, ms });
        this.finished(node.id, 'ran');
      }
    }
    this.pump();
  }

  /**
   * A target that ran and failed (or was interrupted): what it wrote goes to .sbuild/failed/, so
   * its declared outputs are absent; the message says where.
   */
  private setAside(node: GraphNode, message: string): string {
    try {
      const dir = moveAside(this.ws.root, node.name, node.outputs);
      for (const o of node.outputs) this.ws.hasher.forget(o);
      this.ws.rebuilder.outputsWritten(node.outputs);
      return withMovedClause(message, dir);
    } catch (err) {
      this.emit({ type: 'warning', message: `could not move the partial outputs of '${node.name}' aside: ${(err as Error).message}` });
      return message;
    }
  }

  private fail(node: GraphNode, ms: number, message: string, command?: string): void {
    this.timeline.end(node.name, 'failed');
    // The failed target keeps whatever record it had: its outputs were removed before it ran,
    // so the record cannot vouch for anything on disk (a requested target reruns), and it still
    // describes a real earlier build, which absent-output dependents may stand on.
    const logFile = this.ws.logFile(node.name);
    let logTail: string | undefined;
    if (command !== undefined) {
      try {
        logTail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-21).join('\n').trimEnd();
      } catch {
        /* no log */
      }
    }
    if (!this.result.interrupted) {
      this.emit({ type: 'failed', name: node.name, ms, message, ...(command !== undefined ? { command, logFile, ...(logTail !== undefined ? { logTail } : {}) } : {}) });
    }
    if (!this.opts.keepGoing) this.stopping = true;
    this.finished(node.id, 'failed');
  }

  /** A target that ran, was restored or failed: either an ordinary completion or a produced absent one. */
  private finished(id: number, st: 'ran' | 'restored' | 'failed'): void {
    if (!this.producing.has(id)) return this.complete(id, st);
    const list = st === 'ran' ? this.result.ran : st === 'restored' ? this.result.restored : this.result.failed;
    list.push(this.ws.graph.nodes[id]!.name);
    this.state.set(id, st);
    this.produced(id, st !== 'failed');
  }

  private complete(id: number, st: 'fresh' | 'ran' | 'restored' | 'failed' | 'blocked'): void {
    this.state.set(id, st);
    const node = this.ws.graph.nodes[id]!;
    const list = st === 'fresh' ? this.result.fresh : st === 'ran' ? this.result.ran : st === 'restored' ? this.result.restored : st === 'failed' ? this.result.failed : this.result.blocked;
    if (!node.group && !(this.opts.dryRun && st === 'ran')) list.push(node.name);
    if (st === 'fresh' && !node.group) this.emit({ type: 'fresh', name: node.name });
    // Iterative, so a long chain of fresh targets cannot overflow the stack.
    for (const d of node.dependents) {
      if (!this.selected.has(d) || this.state.get(d) !== 'waiting') continue;
      if (st === 'failed' || st === 'blocked') {
        this.state.set(d, 'blocked');
        this.result.blocked.push(this.ws.graph.nodes[d]!.name);
        if (!this.result.interrupted) this.emit({ type: 'blocked', name: this.ws.graph.nodes[d]!.name, dep: node.name });
        this.propagateBlocked(d);
        continue;
      }
      const left = this.pending.get(d)! - 1;
      this.pending.set(d, left);
      if (left === 0) this.toEvaluate.push(d);
    }
  }

  private propagateBlocked(start: number): void {
    const stack = [start];
    while (stack.length) {
      const id = stack.pop()!;
      for (const d of this.ws.graph.nodes[id]!.dependents) {
        if (!this.selected.has(d) || this.state.get(d) !== 'waiting') continue;
        this.state.set(d, 'blocked');
        this.result.blocked.push(this.ws.graph.nodes[d]!.name);
        stack.push(d);
      }
    }
  }
}
