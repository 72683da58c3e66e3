// The scheduler: a ready queue over the plan's unsettled targets. A target is judged (fresh or
// not) only once all its dependencies have finished, so its fingerprint sees their real output
// hashes (early cutoff falls out of this); stale targets are restored when a cache holds them,
// else wait for a job slot and their resources, critical path first. What a target needs is
// judged in rebuilder.ts, restored in restore.ts, run in run-job.ts and recorded in record.ts;
// this file only decides what happens next.
import type { GraphNode } from '../graph/graph.js';
import type { Executor } from '../executors/executor.js';
import type { BuildEvent, Listener } from './events.js';
import type { Reason } from './reasons.js';
import type { Current } from './rebuilder.js';
import type { LockFile, OutputRecord } from './lockfile.js';
import { History } from './history.js';
import { Timeline } from './timeline.js';
import { Pools, detectGpus } from './pools.js';
import type { Workspace } from './workspace.js';
import { phase } from '../util/timing.js';
import type { Plan } from './plan.js';
import { AbsentTargets } from './absent.js';
import { LockRecorder } from './record.js';
import { keepOutputs, restoreFrom, restoreLocal, peekLocal, type RestoreOutcome } from './restore.js';
import { failureOf, runJob, type JobOutcome } from './run-job.js';
import { finishResume } from './resume.js';
import type { Failure, FailureLog } from './failure.js';
import type { ActionCache } from '../cache/cache.js';
import { RemoteTier } from '../cache/remote-tier.js';
import { ReadyQueue } from './ready-queue.js';

export interface BuildOptions {
  jobs: number;
  keepGoing: boolean;
  /** `--gpus` as given (undefined: the config, CUDA_VISIBLE_DEVICES, then nvidia-smi). */
  gpuFlag: string | undefined;
  executor: Executor;
  listener: Listener;
  /** Targets that run on Slurm, its executor, and how many jobs may be submitted at once. */
  /** `journaled`: targets with a Slurm job an earlier build submitted: attached to, never restored over. */
  slurm?: { executor: Executor; onSlurm: (node: GraphNode) => boolean; maxJobs: number; journaled?: Set<string> };
  /**
   * The build's place among the builds under way (engine/build-session.ts): its journal, and
   * whom to tell when a target is done (another build may be waiting for it). Without one the
   * build writes sbuild.lock itself at its end.
   */
  session?: { journal: string; settled(name: string): void; holds(name: string): boolean; pinBelow(id: number): void };
}

export interface BuildResult {
  ran: string[];
  /** Restored from the cache instead of run. */
  restored: string[];
  fresh: string[];
  failed: string[];
  blocked: string[];
  /** Submitted to Slurm and not waited for (`--detach`). */
  detached: string[];
  interrupted: boolean;
  /** A failure was an action reporting bad input (exit code 2). */
  badInput?: boolean;
  /** Ran, but an input (`moved`) changed while it did: not recorded (engine/input-guard.ts). */
  unrecorded: Array<{ name: string; moved: string }>;
}

type State = 'waiting' | 'held' | 'fetching' | 'queued' | 'running' | 'fresh' | 'ran' | 'restored' | 'failed' | 'blocked' | 'detached';

interface Queued {
  node: GraphNode;
  cur: Current;
  reasons: Reason[];
}

export class Scheduler {
  private readonly selected: Set<number>;
  private readonly forced: Set<number>;
  private readonly requested: Set<number>;
  private readonly absent: AbsentTargets;
  private readonly state = new Map<number, State>();
  private readonly pending = new Map<number, number>();
  /** Output records in effect this build, for dependents' input hashes. */
  private readonly outputs = new Map<number, Record<string, OutputRecord>>();
  /**
   * Settled targets whose output records are their entries in the lock as this pass began:
   * read only when a target judged in this build reads them (most of a large build's never are).
   */
  private readonly fromLock = new Set<number>();
  private passLock: LockFile | undefined;

  private outputsOf(id: number): Record<string, OutputRecord> | undefined {
    return this.outputs.get(id) ?? (this.fromLock.has(id) ? this.passLock!.entries.get(this.ws.graph.nodes[id]!.name)?.outputs : undefined);
  }
  /** Targets that ran or were restored this build (their dependents list files anew). */
  private readonly changed = new Set<number>();
  private readonly queue = new ReadyQueue<Queued>();
  private readonly toEvaluate: number[] = [];
  private readonly abort = new AbortController();
  private readonly timeline = new Timeline();
  private readonly recorder: LockRecorder;
  /** The cache tiers after the local store (the remote, when one is configured). */
  private readonly tiers: ActionCache[];
  /** Jobs submitted to Slurm and not yet ended (they take no -j slot). */
  private submitted = 0;
  private readonly result: BuildResult = { ran: [], restored: [], fresh: [], failed: [], blocked: [], detached: [], unrecorded: [], interrupted: false };
  private pools: Pools | undefined;
  private history: History | undefined;
  private priorities: Map<number, number> | undefined;
  private running = 0;
  /** Set when a pass must be followed by another (see recordOutputs()). */
  private again = false;
  /** Remote cache lookups in flight. */
  private inflight = 0;
  private readonly uploads: Array<Promise<void>> = [];
  private stopping = false;
  private finish: (() => void) | undefined;

  constructor(private readonly ws: Workspace, private readonly plan: Plan, private readonly opts: BuildOptions) {
    ({ selected: this.selected, forced: this.forced, requested: this.requested } = plan.selection);
    this.absent = new AbsentTargets(ws.graph);
    this.recorder = new LockRecorder(ws, opts.session?.journal);
    this.tiers = ws.remote ? [new RemoteTier(ws.remote, ws.store)] : [];
  }

  private emit(e: BuildEvent): void {
    this.opts.listener(e);
  }

  async run(): Promise<BuildResult> {
    const t0 = performance.now();
    const { graph } = this.ws;
    const settled = this.plan.settled;
    this.emit({ type: 'plan', selected: [...this.selected].filter((id) => !graph.nodes[id]!.group).length, toRun: this.plan.toDo.length });
    // Usually one pass. A restarting second pass follows only when an absent intermediate was
    // produced with other bytes than its record (non-deterministic jobs): what was judged
    // against the record is judged again against the real files.
    for (let pass = 0; pass < 3; pass++) {
      this.again = false;
      this.state.clear();
      this.pending.clear();
      this.outputs.clear();
      this.fromLock.clear();
      this.passLock = this.ws.lock;
      this.changed.clear();
      this.queue.clear();
      this.absent.clear();
      this.result.fresh.length = 0;
      for (const id of graph.order) {
        if (!this.selected.has(id)) continue;
        const node = graph.nodes[id]!;
        // Settled by the plan (fresh, and so is everything it reads): nothing to judge again.
        // From the second pass on, only what this build still holds is judged again: the rest
        // may belong to another build by now (targets below an absent one are held to the end).
        const released = pass > 0 && !node.group && this.opts.session !== undefined && !this.opts.session.holds(node.name);
        if (released && !this.ws.lock.entries.has(node.name)) {
          // Ended without a record in the first pass (blocked below a failure or a detached
          // job): it stays so.
          this.state.set(id, 'blocked');
          continue;
        }
        if ((pass === 0 && settled.has(id)) || released) {
          this.state.set(id, 'fresh');
          if (!node.group) {
            this.fromLock.add(id);
            if (!released) {
              this.result.fresh.push(node.name);
              this.emit({ type: 'fresh', name: node.name });
            }
          }
          continue;
        }
        this.state.set(id, 'waiting');
        let n = 0;
        for (const d of node.deps) if (this.state.get(d) !== 'fresh') n++;
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
    this.recorder.save();
    this.history?.save();
    this.timeline.save(this.ws.root);
    phase('save state');
    const r = this.result;
    this.emit({
      type: 'summary', ran: r.ran.length, restored: r.restored.length, fresh: r.fresh.length, failed: r.failed.length, blocked: r.blocked.length,
      ...(r.detached.length ? { detached: r.detached.length } : {}),
      ms: performance.now() - t0, interrupted: r.interrupted, dryRun: false,
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

  /** Judges everything ready, starts what fits, and resolves when nothing is left to do. */
  private pump(): void {
    // An index, not shift(): on a cold build this list holds thousands of ids.
    for (let i = 0; i < this.toEvaluate.length; i++) this.evaluate(this.toEvaluate[i]!);
    this.toEvaluate.length = 0;
    if (!this.stopping) this.dispatch();
    if (this.running === 0 && this.submitted === 0 && this.inflight === 0 && (this.stopping || this.queue.size === 0) && this.toEvaluate.length === 0) {
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
    const cur = this.ws.rebuilder.current(node, (d) => this.outputsOf(d), upstreamChanged, entry);
    const decision = this.ws.rebuilder.decide(cur, entry, this.forced.has(id));
    if (decision.fresh) {
      this.outputs.set(id, entry!.outputs);
      return this.complete(id, 'fresh');
    }
    // A job an earlier build submitted may still be writing these outputs: only the Slurm
    // executor touches them. This fingerprint's own job is attached to; another one's is
    // waited for first, then the caches are looked in as usual.
    const slurm = this.opts.slurm;
    if (slurm?.journaled?.has(node.name)) {
      if (slurm.executor.attachable?.(this.ws.root, node, cur.fingerprint) || !slurm.executor.waitForEarlier) return this.afterMiss(node, cur, decision.reasons);
      this.state.set(id, 'fetching');
      this.inflight++;
      void slurm.executor.waitForEarlier(this.ws.root, node, cur.fingerprint, this.abort.signal).then((res) => {
        this.inflight--;
        slurm.journaled!.delete(node.name);
        if (!res) this.restoreOrRun(node, cur, decision.reasons);
        else if (res.ok) this.restoreOrRun(node, cur, decision.reasons);
        else if (res.reason === 'detached') this.detached(node, res.jobId, res.state);
        else this.fail(node, 0, failureOf(res));
        this.pump();
      });
      return;
    }
    if (entry && !this.requested.has(id) && decision.reasons.every((r) => r.kind === 'output-missing')) {
      // Deleted outputs that the local cache holds come back (a copy, no compute), so the
      // workspace is whole again; without them (a fresh clone) the target stays absent.
      if (peekLocal(this.ws, node, cur.fingerprint) && this.restored(node, cur, decision.reasons, restoreLocal(this.ws, node, cur.fingerprint))) return;
      this.outputs.set(id, entry.outputs);
      this.absent.mark(id, cur);
      this.opts.session?.pinBelow(id);
      return this.complete(id, 'fresh');
    }
    this.restoreOrRun(node, cur, decision.reasons);
  }

  /** The caches first (unless forced), then the queue. */
  private restoreOrRun(node: GraphNode, cur: Current, reasons: Reason[]): void {
    if (this.forced.has(node.id)) return this.afterMiss(node, cur, reasons);
    if (this.restored(node, cur, reasons, restoreLocal(this.ws, node, cur.fingerprint))) return;
    const remote = this.tiers.find((t) => t.enabled);
    if (!remote || node.target.cache === false) return this.afterMiss(node, cur, reasons);
    this.state.set(node.id, 'fetching');
    this.inflight++;
    void restoreFrom(remote, this.ws, node, cur.fingerprint).then((outcome) => {
      this.inflight--;
      if (!this.restored(node, cur, reasons, outcome)) this.afterMiss(node, cur, reasons);
      this.pump();
    });
  }

  /** Acts on a restore: true when the outputs are back (the target is done). */
  private restored(node: GraphNode, cur: Current, reasons: Reason[], outcome: RestoreOutcome): boolean {
    if (outcome.kind === 'miss') {
      if (outcome.warning) this.emit({ type: 'warning', message: outcome.warning });
      return false;
    }
    this.recordOutputs(node, cur, outcome.outputs);
    this.timeline.begin(node.name, 'local', []);
    this.timeline.end(node.name, 'restored');
    this.emit({ type: 'restored', name: node.name, fingerprint: cur.fingerprint, reasons });
    this.finished(node.id, 'restored');
    return true;
  }

  /** Not in any cache: wait for absent inputs, or queue the target to run. */
  private afterMiss(node: GraphNode, cur: Current, reasons: Reason[]): void {
    const need = this.absent.inputsOf(node.id);
    if (need.length) {
      this.state.set(node.id, 'held');
      for (const u of this.absent.hold(node.id, need)) this.produce(u.id, u.cur, node.name);
      return;
    }
    if (cur.missing.length) return this.fail(node, 0, { kind: 'missing-input', paths: cur.missing });
    this.enqueue(node, cur, reasons);
  }

  /** Brings back an absent target's outputs for a dependent: from a cache, else by running it. */
  private produce(id: number, cur: Current, neededBy: string): void {
    const node = this.ws.graph.nodes[id]!;
    const i = this.result.fresh.lastIndexOf(node.name);
    if (i >= 0) this.result.fresh.splice(i, 1); // counted again as ran or restored
    const reasons: Reason[] = [...node.outputs.map((p) => ({ kind: 'output-missing' as const, path: p })), { kind: 'needed-by', dependent: neededBy }];
    this.restoreOrRun(node, cur, reasons);
  }

  /** An absent upstream is back (or could not be produced): act on the dependents it held. */
  private produced(id: number, ok: boolean): void {
    const dep = this.ws.graph.nodes[id]!.name;
    for (const r of this.absent.produced(id, ok)) {
      const dn = this.ws.graph.nodes[r.id]!;
      if (!r.ok) {
        if (!this.result.interrupted) this.emit({ type: 'blocked', name: dn.name, dep });
        if (r.producing) {
          // An absent target waiting for its own absent inputs: blocked, record kept.
          this.result.blocked.push(dn.name);
          this.state.set(r.id, 'blocked');
          this.produced(r.id, false);
        } else {
          this.state.set(r.id, 'waiting');
          this.complete(r.id, 'blocked');
        }
      } else if (r.producing) {
        // An absent target that was itself waiting for inputs: now produce it.
        this.absent.mark(r.id, this.ws.rebuilder.current(dn, (x) => this.outputsOf(x), true, this.ws.lock.entries.get(dn.name)));
        this.opts.session?.pinBelow(r.id);
        this.produce(r.id, this.absent.take(r.id)!, 'a dependent');
      } else {
        this.state.set(r.id, 'waiting');
        this.toEvaluate.push(r.id);
      }
    }
  }

  /** A target's new outputs: into the lock (and journal), and what its dependents will see. */
  /** `record`: into sbuild.lock (false: only for this build's dependents). */
  private recordOutputs(node: GraphNode, cur: Current, outputs: Record<string, OutputRecord>, record = true): void {
    const lent = this.absent.isProducing(node.id) ? this.outputsOf(node.id) : undefined;
    if (lent && Object.keys(outputs).some((p) => lent[p]?.hash !== outputs[p]!.hash)) {
      // Dependents judged fresh against the recorded outputs saw other bytes: judge again.
      this.again = true;
    }
    if (record) {
      this.recorder.record(node.name, cur, outputs);
      // Recorded: what its resume folder holds is finished work now (resume.ts).
      if (node.resume) finishResume(this.ws.root, node, cur.fingerprint);
    }
    this.outputs.set(node.id, outputs);
    this.changed.add(node.id);
    this.ws.rebuilder.outputsWritten(node.runFolders ? Object.keys(outputs) : node.outputs);
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
        const hint = (res.gpu ?? 0) > 0 && this.pools.gpus.length === 0 ? 'no-gpu' : (res.gpu ?? 0) > 0 ? 'too-few-gpus' : 'none';
        return this.fail(node, 0, { kind: 'impossible', why, hint });
      }
    }
    this.priorities ??= this.computePriorities();
    this.state.set(node.id, 'queued');
    this.queue.push({ node, cur, reasons }, this.priorities.get(node.id) ?? 0);
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
    this.queue.scan((item) => {
      // Nothing more can start: stop here rather than walk a long queue on every pump.
      if (this.running >= this.opts.jobs && (!slurm || this.submitted >= slurm.maxJobs)) return 'stop';
      if (this.onSlurm(item.node)) {
        // The cluster, not -j, limits these; --max-jobs caps what is submitted at once.
        if (this.submitted >= slurm!.maxJobs) return 'skip';
        void this.start(item, [], true);
        return 'take';
      }
      if (this.running >= this.opts.jobs) return 'skip';
      const res = item.node.target.resources;
      const noGpu = (res?.gpu ?? 0) > 0 && this.pools!.gpus.length === 0;
      // No pools when no queued target needs a resource: `resources: { gpu: 0 }` needs none.
      const gpus = res && this.pools ? this.pools.tryAcquire(noGpu ? { ...res, gpu: 0 } : res) : [];
      if (gpus === undefined) return 'skip';
      void this.start(item, gpus, false);
      return 'take';
    });
  }

  private async start(item: Queued, gpus: string[], slurm: boolean): Promise<void> {
    const { node, cur, reasons } = item;
    if (slurm) this.submitted++;
    else this.running++;
    this.state.set(node.id, 'running');
    this.changed.add(node.id);
    this.emit({ type: 'start', name: node.name, reasons, gpus, ...(slurm ? { executor: 'slurm' as const } : {}) });
    this.timeline.begin(node.name, slurm ? 'slurm' : 'local', gpus);
    const executor = slurm ? this.opts.slurm!.executor : this.opts.executor;
    const outcome: JobOutcome = await runJob(this.ws, node, cur, {
      executor, gpus, signal: this.abort.signal,
      progress: (text, line) => this.emit({ type: 'progress', name: node.name, text, line }),
    });
    if (slurm) this.submitted--;
    else {
      this.running--;
      this.pools?.release(node.target.resources, gpus);
    }
    if (outcome.kind === 'detached') {
      this.timeline.end(node.name, 'detached');
      this.detached(node, outcome.jobId, outcome.state);
    } else if (outcome.kind === 'failed') {
      if (outcome.warning) this.emit({ type: 'warning', message: outcome.warning });
      if (outcome.failure.kind === 'bad-input') this.result.badInput = true;
      this.fail(node, outcome.ms, outcome.failure, outcome.log);
    } else if (outcome.moved !== undefined) {
      // Made from inputs that changed under it: used by this build's dependents, vouched for by
      // nothing (no lock entry, no cache entry), judged again by the next build (input-guard.ts).
      this.emit({ type: 'warning', message: `${node.name}: ${outcome.moved} changed while it ran, so its outputs may not be what sbuild.lock would record them as made from; they are not recorded nor cached, and the next build runs it again` });
      this.result.unrecorded.push({ name: node.name, moved: outcome.moved });
      this.recordOutputs(node, cur, outcome.outputs, false);
      this.history!.record(node.name, outcome.ms);
      this.timeline.end(node.name, 'ran');
      this.emit({ type: 'done', name: node.name, ms: outcome.ms });
      this.finished(node.id, 'ran');
    } else {
      this.recordOutputs(node, cur, outcome.outputs);
      const kept = keepOutputs(this.ws, node, cur.fingerprint, outcome.outputs, this.tiers);
      if (kept.warning) this.emit({ type: 'warning', message: kept.warning });
      if (kept.upload) this.uploads.push(kept.upload);
      this.history!.record(node.name, outcome.ms);
      this.timeline.end(node.name, 'ran');
      this.emit({ type: 'done', name: node.name, ms: outcome.ms });
      this.finished(node.id, 'ran');
    }
    this.pump();
  }

  /** On Slurm and not waited for (`--detach`): its dependents are not run in this build. */
  private detached(node: GraphNode, jobId: string, state: string): void {
    this.emit({ type: 'detached', name: node.name, jobId, state });
    this.result.detached.push(node.name);
    if (this.absent.isProducing(node.id)) {
      this.state.set(node.id, 'detached');
      this.opts.session?.settled(node.name);
      this.produced(node.id, false);
    } else this.complete(node.id, 'detached');
  }

  private fail(node: GraphNode, ms: number, failure: Failure, log?: FailureLog): void {
    this.timeline.end(node.name, 'failed');
    // The failed target keeps whatever record it had: its outputs were removed before it ran,
    // so the record cannot vouch for anything on disk (a requested target reruns), and it still
    // describes a real earlier build, which absent-output dependents may stand on.
    if (!this.result.interrupted) this.emit({ type: 'failed', name: node.name, ms, failure, ...(log ? { log } : {}) });
    if (!this.opts.keepGoing) this.stopping = true;
    this.finished(node.id, 'failed');
  }

  /** A target that ran, was restored or failed: either an ordinary completion or a produced absent one. */
  private finished(id: number, st: 'ran' | 'restored' | 'failed'): void {
    if (!this.absent.isProducing(id)) return this.complete(id, st);
    const list = st === 'ran' ? this.result.ran : st === 'restored' ? this.result.restored : this.result.failed;
    list.push(this.ws.graph.nodes[id]!.name);
    this.state.set(id, st);
    this.opts.session?.settled(this.ws.graph.nodes[id]!.name);
    this.produced(id, st !== 'failed');
  }

  private complete(id: number, st: 'fresh' | 'ran' | 'restored' | 'failed' | 'blocked' | 'detached'): void {
    this.state.set(id, st);
    const node = this.ws.graph.nodes[id]!;
    if (!node.group) this.opts.session?.settled(node.name);
    const list = st === 'fresh' ? this.result.fresh : st === 'ran' ? this.result.ran : st === 'restored' ? this.result.restored : st === 'failed' ? this.result.failed : st === 'blocked' ? this.result.blocked : undefined;
    if (!node.group) list?.push(node.name);
    if (st === 'fresh' && !node.group) this.emit({ type: 'fresh', name: node.name });
    for (const d of node.dependents) {
      if (!this.selected.has(d) || this.state.get(d) !== 'waiting') continue;
      if (st === 'failed' || st === 'blocked' || st === 'detached') {
        this.block(d, node.name, st === 'detached');
        continue;
      }
      const left = this.pending.get(d)! - 1;
      this.pending.set(d, left);
      if (left === 0) this.toEvaluate.push(d);
    }
  }

  /** A dependency failed: this target and everything waiting below it are not run. Iterative, so a long chain cannot overflow the stack. */
  private block(start: number, dep: string, submitted = false): void {
    this.state.set(start, 'blocked');
    this.result.blocked.push(this.ws.graph.nodes[start]!.name);
    this.opts.session?.settled(this.ws.graph.nodes[start]!.name);
    if (!this.result.interrupted) this.emit({ type: 'blocked', name: this.ws.graph.nodes[start]!.name, dep, ...(submitted ? { submitted } : {}) });
    const stack = [start];
    while (stack.length) {
      const id = stack.pop()!;
      for (const d of this.ws.graph.nodes[id]!.dependents) {
        if (!this.selected.has(d) || this.state.get(d) !== 'waiting') continue;
        this.state.set(d, 'blocked');
        this.result.blocked.push(this.ws.graph.nodes[d]!.name);
        this.opts.session?.settled(this.ws.graph.nodes[d]!.name);
        stack.push(d);
      }
    }
  }
}
