// Property-based test of edits that land while a build runs: a user saves a source, adds a
// metrics file to a globbed folder, deletes one, or deletes or edits an output while sbuild
// is working. What that build did with them cannot be predicted (it depends on when each
// target read what), so the property is about the next build: started after the edits, with
// nothing changing under it, it must bring every output to the bytes a clean build of the
// final sources gives, and a build after it must run nothing. Between steps the workspace is
// aged and settled, so the no-op snapshot is written and the racing build plans from its
// delta: the path where a stat taken at the wrong moment turns into a wrong "fresh".
//
// Per seed: a random graph of test/fuzz/model.ts (sources, folder outputs, globs over sources
// and outputs), built at -j 1 so a build spans many processes; per step, 1–2 edits before the
// build (so it has work), then 1–3 edits at random moments while it runs. The racing build
// itself must succeed, but for a glob-matched file removed after its folder was listed: a
// missing input, named, or a command that fails reading it (exit 1). Outputs are deleted or
// edited by hand before the build.
//
//   FUZZ_RACE_SEEDS=21,22   run these seeds (default 21,22,23)
//   FUZZ_RACE_STEPS=6       steps per seed
//   FUZZ_RANDOM=5           also run 5 fresh random seeds
//   FUZZ_KEEP=1             keep each seed's workspace
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rig, ageAll, collect } from '../helpers/rig.js';
import { fuzzSeeds, type Rng } from './prng.js';
import type { Model } from './model.js';
import { diffFromClean, liveEdit, seededWorkspace } from './live-edits.js';

const SEEDS = fuzzSeeds('FUZZ_RACE_SEEDS', '21,22,23');
const STEPS = Number(process.env.FUZZ_RACE_STEPS ?? 6);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class RaceRun {
  readonly rng: Rng;
  readonly model: Model;
  readonly rig: Rig;
  readonly log: string[] = [];
  step = 0;

  constructor(readonly seed: number) {
    ({ rng: this.rng, model: this.model, rig: this.rig } = seededWorkspace(seed, 10, 10));
  }

  fail(msg: string): never {
    throw new assert.AssertionError({
      message:
        `seed ${this.seed}, step ${this.step} (rerun: FUZZ_RACE_SEEDS=${this.seed} node --test dist/test/fuzz/edits-during-builds.test.js; ` +
        `${process.env.FUZZ_KEEP ? `workspace kept at ${this.rig.dir}` : 'FUZZ_KEEP=1 keeps the workspace'}; the timing of the edits differs between runs):\n${msg}\n` +
        `--- steps so far ---\n${this.log.join('\n')}`,
    });
  }

  /** What the last builds printed, for a failure's message. */
  private said: string[] = [];

  private build(what: string, args: string[] = []): string[] {
    const r = this.rig.run(['-j', '1', ...args]);
    if (r.code !== 0) this.fail(`${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    this.said.push(`--- ${what} ---\n${r.stdout}${r.stderr}`);
    return this.rig.takeRuns();
  }

  /** A clean build of the final sources in a fresh workspace, compared byte for byte. */
  private cleanCompare(): void {
    const { failed, diff } = diffFromClean(this.model, this.rig);
    if (failed !== undefined) this.fail(`clean build failed:\n${failed}`);
    if (diff.length) this.fail(`after the edits settled, one build did not bring the outputs to a clean build's:\n  ${diff.join('\n  ')}`);
  }

  async run(): Promise<void> {
    this.build('initial build');
    for (this.step = 1; this.step <= STEPS; this.step++) {
      // Settled: an all-fresh build of old files records the no-op snapshot.
      ageAll(this.rig.dir);
      this.build('settling build');
      if (!this.rig.exists('.sbuild/noop.json')) this.fail('no snapshot after an all-fresh build of old files');
      const before = Array.from({ length: 1 + this.rng.int(2) }, () => liveEdit(this.rng, this.model, this.rig, { outputs: true, params: false }));
      ageAll(this.rig.dir);
      const child = this.rig.spawn(['-j', '1']);
      const done = collect(child);
      const during: string[] = [];
      let at = 0;
      for (let i = 1 + this.rng.int(3); i > 0; i--) {
        const wait = this.rng.int(400);
        await sleep(wait);
        at += wait;
        during.push(`${liveEdit(this.rng, this.model, this.rig, { outputs: false, params: false })} at ${at} ms`);
      }
      const res = await done;
      this.said = [`--- the build the edits raced with ---\n${res.stdout}${res.stderr}`];
      this.rig.takeRuns();
      this.log.push(`step ${this.step}: before the build: ${before.join(', ')}; during it: ${during.join(', ')}; it exited ${res.code}`);
      // A glob-matched file removed between the listing and its hashing is a missing input
      // (exit 1, named); nothing else may fail.
      const vanished = during.some((d) => d.startsWith('remove')) && (/missing input 'src\/sub\/x\d+\.txt'/.test(res.stdout) || /cat: src\/sub\/x\d+\.txt: No such file/.test(res.stdout));
      if (res.code !== 0 && !(res.code === 1 && vanished)) this.fail(`the build edits raced with exited ${res.code}\n${res.stdout}\n${res.stderr}`);
      this.build('the build after the edits');
      const again = this.build('the build after that');
      if (again.length) this.fail(`a build with nothing changed ran ${again.join(', ')}\n${this.said.slice(-2).join('')}`);
      this.cleanCompare();
    }
  }
}

for (const seed of SEEDS) {
  test(`edits during builds: seed ${seed}`, async () => {
    const s = new RaceRun(seed);
    try {
      await s.run();
    } finally {
      if (!process.env.FUZZ_KEEP) s.rig.cleanup();
    }
  });
}
