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
import fs from 'node:fs';
import { Rig, ageAll, collect } from '../helpers/rig.js';
import { Rng } from './prng.js';
import { Model, outFiles, randomContent, randomLine } from './model.js';

const SEEDS = (process.env.FUZZ_RACE_SEEDS ?? '21,22,23').split(',').filter((s) => s.trim() !== '').map(Number).filter((n) => Number.isInteger(n));
for (let i = 0; i < Number(process.env.FUZZ_RANDOM ?? 0); i++) SEEDS.push(Math.floor(Math.random() * 2 ** 31));
const STEPS = Number(process.env.FUZZ_RACE_STEPS ?? 6);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class RaceRun {
  readonly rng: Rng;
  readonly model: Model;
  readonly rig = new Rig();
  readonly log: string[] = [];
  step = 0;

  constructor(readonly seed: number) {
    this.rng = new Rng(seed);
    this.model = Model.generate(this.rng, 10 + this.rng.int(11));
    this.model.cacheMode = new Rng(seed ^ 0x5bd1e995).chance(0.4) ? 'hardlink' : 'copy';
    for (const [p, c] of this.model.src) this.rig.write(p, c);
    this.rig.write('tasks.config.ts', this.model.configText());
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

  /**
   * One edit: a source's content (sometimes same size with the mtime put back), a glob-matched
   * source added or removed, or (`idle`: before the build) an output file deleted or edited by
   * hand. An output rewritten while its own job runs is, to any build tool, what that job made.
   */
  private edit(idle: boolean): string {
    const extras = [...this.model.src.keys()].filter((p) => p.startsWith('src/sub/x'));
    const outputs = idle ? [...outFiles(this.rig.dir).keys()] : [];
    const kind = this.rng.pick(['content', 'content', 'content', 'add', ...(extras.length ? ['remove'] : []), ...(outputs.length ? ['delete-output', 'modify-output'] : [])]);
    if (kind === 'delete-output' || kind === 'modify-output') {
      const p = this.rng.pick(outputs);
      const abs = this.rig.path(p);
      let old: string;
      try {
        old = fs.readFileSync(abs, 'utf8');
        // A cached output may be a read-only link to the cache's copy: replaced, never written into.
        fs.rmSync(abs, { force: true });
      } catch {
        return `${kind} ${p}: gone already`;
      }
      if (kind === 'modify-output') fs.writeFileSync(abs, old + 'hand edit\n');
      return `${kind} ${p}`;
    }
    if (kind === 'add') {
      const p = `src/sub/x${this.model.extraCounter++}.txt`;
      const s = randomContent(this.rng);
      this.model.src.set(p, s);
      this.rig.write(p, s);
      return `add ${p}`;
    }
    if (kind === 'remove') {
      const p = this.rng.pick(extras);
      fs.rmSync(this.rig.path(p));
      this.model.src.delete(p);
      return `remove ${p}`;
    }
    const p = this.rng.pick([...this.model.src.keys()]);
    const old = this.model.src.get(p)!;
    const sneaky = old.length > 0 && this.rng.chance(0.25);
    let s: string;
    if (sneaky) {
      const k = this.rng.int(old.length);
      s = old.slice(0, k) + (old[k] === 'a' ? 'e' : old[k] === '\n' ? '\n' : 'a') + old.slice(k + 1);
    } else s = old + randomLine(this.rng) + '\n';
    const abs = this.rig.path(p);
    const before = fs.statSync(abs);
    this.model.src.set(p, s);
    fs.writeFileSync(abs, s);
    // Same size, mtime put back (cp -p, rsync -t): only ctime and content tell.
    if (sneaky) fs.utimesSync(abs, before.atime, before.mtime);
    return `edit ${p}${sneaky ? ' (same size, mtime put back)' : ''}`;
  }

  /** A clean build of the final sources in a fresh workspace, compared byte for byte. */
  private cleanCompare(): void {
    const clean = new Rig();
    try {
      clean.write('tasks.config.ts', this.model.configText());
      for (const [p, c] of this.model.src) clean.write(p, c);
      const r = clean.run([]);
      if (r.code !== 0) this.fail(`clean build failed:\n${r.stdout}\n${r.stderr}`);
      const fresh = outFiles(clean.dir);
      const incr = outFiles(this.rig.dir);
      const diff: string[] = [];
      for (const f of new Set([...fresh.keys(), ...incr.keys()])) {
        if (fresh.get(f) !== incr.get(f)) diff.push(`${f}: clean ${JSON.stringify(fresh.get(f))}, here ${JSON.stringify(incr.get(f))}`);
      }
      if (diff.length) this.fail(`after the edits settled, one build did not bring the outputs to a clean build's:\n  ${diff.join('\n  ')}`);
    } finally {
      clean.cleanup();
    }
  }

  async run(): Promise<void> {
    this.build('initial build');
    for (this.step = 1; this.step <= STEPS; this.step++) {
      // Settled: an all-fresh build of old files records the no-op snapshot.
      ageAll(this.rig.dir);
      this.build('settling build');
      if (!this.rig.exists('.sbuild/noop.json')) this.fail('no snapshot after an all-fresh build of old files');
      const before = Array.from({ length: 1 + this.rng.int(2) }, () => this.edit(true));
      ageAll(this.rig.dir);
      const child = this.rig.spawn(['-j', '1']);
      const done = collect(child);
      const during: string[] = [];
      let at = 0;
      for (let i = 1 + this.rng.int(3); i > 0; i--) {
        const wait = this.rng.int(400);
        await sleep(wait);
        at += wait;
        during.push(`${this.edit(false)} at ${at} ms`);
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
