// Property-based test of `sbuild watch`, the resident process that keeps the graph, the glob
// matches and the stat cache in memory between builds and updates them from file events. Random
// graphs (test/fuzz/model.ts); per step, 1–3 edits at random moments, often while a build it
// started is still running: source content (sometimes same size with the mtime put back), a
// glob-matched source added or removed, a param in tasks.config.ts (a config reload); and, as
// a step's first edit (the watcher idle), an output deleted or edited by hand. Once the watcher has been quiet for a while, every output
// must equal a clean build's of the final config and sources, and a plain `sbuild` beside the
// watcher must run nothing (what the watcher recorded is what is on disk).
//
//   FUZZ_WATCH_SEEDS=31,32   run these seeds (default 31,32)
//   FUZZ_WATCH_STEPS=5       steps per seed
//   FUZZ_RANDOM=5            also run 5 fresh random seeds
//   FUZZ_KEEP=1              keep each seed's workspace
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rig } from '../helpers/rig.js';
import { fuzzSeeds, type Rng } from './prng.js';
import type { Model } from './model.js';
import { diffFromClean, liveEdit, seededWorkspace } from './live-edits.js';

const SEEDS = fuzzSeeds('FUZZ_WATCH_SEEDS', '31,32');
const STEPS = Number(process.env.FUZZ_WATCH_STEPS ?? 5);
/** How long the watcher must print nothing before it counts as settled (its debounce is 30 ms). */
const QUIET_MS = 1500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class WatchRun {
  readonly rng: Rng;
  readonly model: Model;
  readonly rig: Rig;
  readonly log: string[] = [];
  private out = '';
  private lastOutput = Date.now();
  private exit: number | null | undefined;
  private child: ReturnType<Rig['spawn']> | undefined;

  constructor(readonly seed: number) {
    ({ rng: this.rng, model: this.model, rig: this.rig } = seededWorkspace(seed, 8, 8));
  }

  fail(msg: string): never {
    throw new assert.AssertionError({
      message:
        `seed ${this.seed} (rerun: FUZZ_WATCH_SEEDS=${this.seed} node --test dist/test/fuzz/watch-edits.test.js; ` +
        `${process.env.FUZZ_KEEP ? `workspace kept at ${this.rig.dir}` : 'FUZZ_KEEP=1 keeps the workspace'}; the timing of the edits differs between runs):\n${msg}\n` +
        `--- steps ---\n${this.log.join('\n')}\n--- sbuild watch printed ---\n${this.out.slice(-6000)}`,
    });
  }

  private start(): void {
    const child = this.rig.spawn(['watch'], { SBUILD_WATCH_DEBOUNCE_MS: '30' });
    const note = (d: Buffer) => {
      this.out += d.toString();
      this.lastOutput = Date.now();
    };
    child.stdout.on('data', note);
    child.stderr.on('data', note);
    child.on('exit', (code) => (this.exit = code));
    this.child = child;
  }

  /** Until the watcher has printed nothing for QUIET_MS (and has printed its first "watching" line). */
  private async settled(): Promise<void> {
    const until = Date.now() + 60_000;
    for (;;) {
      if (this.exit !== undefined) this.fail(`sbuild watch exited (${this.exit})`);
      if (Date.now() > until) this.fail('sbuild watch did not settle within 60 s');
      if (/watching \d+ files/.test(this.out) && Date.now() - this.lastOutput >= QUIET_MS) return;
      await sleep(100);
    }
  }

  /** Outputs against a clean build of the final config and sources; then a plain build beside the watcher runs nothing. */
  private check(): void {
    const { failed, diff } = diffFromClean(this.model, this.rig);
    if (failed !== undefined) this.fail(`clean build failed:\n${failed}`);
    if (diff.length) this.fail(`the watcher settled with outputs other than a clean build's:\n  ${diff.join('\n  ')}`);
    this.rig.takeRuns();
    const r = this.rig.run([]);
    if (r.code !== 0) this.fail(`a plain build beside the watcher exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    const ran = this.rig.takeRuns();
    if (ran.length) this.fail(`a plain build beside the settled watcher ran ${ran.join(', ')}:\n${r.stdout}`);
  }

  async run(): Promise<void> {
    this.start();
    try {
      await this.settled();
      for (let step = 1; step <= STEPS; step++) {
        const edits: string[] = [];
        let at = 0;
        for (let i = 1 + this.rng.int(3); i > 0; i--) {
          // The first edit of a step meets a settled watcher.
          const wait = edits.length === 0 ? 0 : this.rng.int(350);
          await sleep(wait);
          at += wait;
          edits.push(`${liveEdit(this.rng, this.model, this.rig, { outputs: edits.length === 0, params: true })} at ${at} ms`);
        }
        this.log.push(`step ${step}: ${edits.join(', ')}`);
        await this.settled();
        this.check();
      }
    } finally {
      if (this.exit === undefined) {
        const exited = new Promise((res) => this.child!.on('exit', res));
        this.child!.kill('SIGINT');
        await exited;
      }
    }
    if (this.exit !== 130) this.fail(`Ctrl-C: sbuild watch exited ${this.exit}, not 130`);
  }
}

for (const seed of SEEDS) {
  test(`watch with random edits: seed ${seed}`, async () => {
    const s = new WatchRun(seed);
    try {
      await s.run();
    } finally {
      if (!process.env.FUZZ_KEEP) s.rig.cleanup();
    }
  });
}
