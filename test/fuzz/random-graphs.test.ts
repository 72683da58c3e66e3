// Property-based test of the engine: random build graphs, random edits, and after every edit
// the exact set of targets that ran must equal what a model of "verifying traces with early
// cutoff" predicts; the outputs must equal the model's bytes and a from-scratch build's.
//
// Per seed (test/fuzz/model.ts builds the graph and predicts): 10-20 targets over src/ files,
// wired by literal inputs (files, folder outputs, files inside folder outputs), `deps`, and
// globs over sources and over declared outputs (`out/g[0-2]/**/*.txt`, `out/g1/**/head.txt`);
// shell and `node -e` (exec array) commands, several of them lossy (line count, prefix,
// sort -u, letter count, constant) so upstream changes often leave bytes unchanged. Edits:
// source content (incl. same size with the mtime put back), touch, identical rewrite, params
// used and unused by the command, command text, reverts, added/removed inputs and glob-matched
// files, deleted/hand-modified outputs, reordered config, dropped stat cache or lock, a
// failing command (-k) and its fix. After each step: `sbuild [-n] [all] [-j N]` ran exactly
// the predicted targets (runs.log) and restored the predicted ones from the cache, exit code,
// outputs = model bytes, an immediate second run runs nothing; every 5 steps and at the end,
// outputs = a clean build's, and `sbuild graph` (also cold) has every producer→consumer edge.
//
//   FUZZ_SEEDS=7,8,9   run these seeds (default: 2,3,4,6,9: between them globs into folder outputs, dotted folder names, node -e)
//   FUZZ_STEPS=20      edit steps per seed
//   FUZZ_CLEAN_EVERY=1 compare with a clean build every N steps (always at the last step)
//   FUZZ_DRY=1         probability of checking `sbuild -n` before a step's build (default 0.4)
//   FUZZ_RANDOM=5      also run 5 fresh random seeds (printed in the test names)
//   FUZZ_KEEP=1        keep the temp workspace of each seed (to inspect a failure)
//   FUZZ_VERBOSE=1     print each seed's graph and edits
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Rig, type RunResult } from '../helpers/rig.js';
import { Rng, fuzzSeeds } from './prng.js';
import { Model, byteOrder, outFiles, randomContent, randomLine, randomNote, randomV, type TargetSpec } from './model.js';

const SEEDS = fuzzSeeds('FUZZ_SEEDS', '2,3,4,6,9');
const STEPS = Number(process.env.FUZZ_STEPS ?? 10);
const CLEAN_EVERY = Number(process.env.FUZZ_CLEAN_EVERY ?? 5);
const DRY_RUNS = Number(process.env.FUZZ_DRY ?? 0.4);

interface Event {
  type: string;
  name?: string;
  why?: string[];
  [k: string]: unknown;
}

function events(r: RunResult): Event[] {
  const out: Event[] = [];
  for (const line of r.stdout.split('\n')) {
    // A plain build (the one that may be answered by the no-op snapshot or plan from its delta).
    const plain = /^(▶|↺|✖) (\S+?)(?::? |$)/.exec(line);
    if (plain) {
      out.push({ type: plain[1] === '▶' ? 'start' : plain[1] === '↺' ? 'restored' : 'failed', name: plain[2]!, why: [line] } as Event);
      continue;
    }
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Event);
    } catch {
      /* not an event */
    }
  }
  return out;
}

class SeedRun {
  readonly rng: Rng;
  readonly model: Model;
  readonly rig = new Rig();
  readonly log: string[] = [];
  step = 0;
  configDirty = true;
  private readonly srcHistory = new Map<string, string[]>();
  private readonly paramHistory = new Map<string, unknown[]>();

  constructor(readonly seed: number) {
    this.rng = new Rng(seed);
    this.model = Model.generate(this.rng, 10 + this.rng.int(11));
    // Drawn apart from the main sequence, so a seed's graph and edits stay what they were.
    this.model.cacheMode = new Rng(seed ^ 0x5bd1e995).chance(0.4) ? 'hardlink' : 'copy';
    for (const [p, c] of this.model.src) this.rig.write(p, c);
  }

  fail(msg: string): never {
    throw new assert.AssertionError({
      message:
        `seed ${this.seed}, step ${this.step} (rerun: FUZZ_SEEDS=${this.seed} node --test dist/test/fuzz/; ` +
        `${process.env.FUZZ_KEEP ? `workspace kept at ${this.rig.dir}` : 'FUZZ_KEEP=1 keeps the workspace'}):\n${msg}\n` +
        `--- edits so far ---\n${this.log.join('\n')}`,
    });
  }

  eq(actual: unknown, expected: unknown, what: string): void {
    try {
      assert.deepEqual(actual, expected);
    } catch {
      this.fail(`${what}\n  expected: ${JSON.stringify(expected)}\n  actual:   ${JSON.stringify(actual)}`);
    }
  }

  private writeConfig(): void {
    this.rig.write('tasks.config.ts', this.model.configText());
    this.configDirty = false;
  }

  private failing(): TargetSpec[] {
    return this.model.targets.filter((t) => t.params.fail);
  }

  // ---------- edits ----------

  private rememberSrc(p: string): void {
    const h = this.srcHistory.get(p) ?? [];
    h.push(this.model.src.get(p)!);
    this.srcHistory.set(p, h);
  }

  private rememberParam(t: TargetSpec, key: 'v' | 'note'): void {
    const k = `${t.name}\0${key}`;
    const h = this.paramHistory.get(k) ?? [];
    h.push(t.params[key]);
    this.paramHistory.set(k, h);
  }

  /**
   * Writes a source or output file; `keepMtime`: restore the old mtime afterwards (like cp -p /
   * rsync -t). In hardlink mode an output is read-only and shares its bytes with the cache: a
   * hand edit replaces the file (as an editor saving through a new file does), never writes
   * into it.
   */
  private writeFile(p: string, content: string, keepMtime: boolean): void {
    const abs = this.rig.path(p);
    const old = keepMtime && fs.existsSync(abs) ? fs.statSync(abs, { bigint: true }).mtimeNs : undefined;
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    if (this.model.cacheMode === 'hardlink') fs.rmSync(abs, { force: true });
    fs.writeFileSync(abs, content);
    if (old !== undefined) {
      // To the nanosecond (fs.utimesSync would round it): only ctime and content still differ.
      const stamp = `@${old / 1_000_000_000n}.${(old % 1_000_000_000n).toString().padStart(9, '0')}`;
      const r = spawnSync('touch', ['-m', '-d', stamp, abs]);
      if (r.status !== 0 || fs.statSync(abs, { bigint: true }).mtimeNs !== old) throw new Error(`could not restore the mtime of ${p}`);
    }
  }

  private mutateText(s: string, sameLength = false): [string, string] {
    const rng = this.rng;
    const nl = s.endsWith('\n');
    const ls = s === '' ? [] : s.split('\n');
    if (nl) ls.pop();
    const i = ls.length ? rng.int(ls.length) : 0;
    const how = sameLength ? 'same-length' : rng.pick(['replace-line', 'append-line', 'delete-line', 'swap-lines', 'duplicate-line', 'rewrite', 'last-line', 'toggle-newline', 'same-length']);
    switch (how) {
      case 'replace-line': ls[i] = randomLine(rng); break;
      case 'append-line': ls.push(randomLine(rng)); break;
      case 'delete-line': if (ls.length > 1) ls.splice(i, 1); else ls[0] = randomLine(rng); break;
      case 'swap-lines': if (ls.length > 1) { const j = rng.int(ls.length); [ls[i], ls[j]] = [ls[j]!, ls[i]!]; } break;
      case 'duplicate-line': if (ls.length) ls.splice(i, 0, ls[i]!); break;
      case 'rewrite': return [randomContent(rng), how];
      case 'last-line': if (ls.length) ls[ls.length - 1] = randomLine(rng); break;
      case 'toggle-newline': return [nl ? s.slice(0, -1) : s + '\n', how];
      case 'same-length': {
        if (s.length === 0) return ['x\n', how];
        const k = rng.int(s.length);
        const c = s[k] === 'a' ? 'e' : s[k] === '\n' ? '\n' : 'a';
        return [s.slice(0, k) + c + s.slice(k + 1), how];
      }
    }
    return [ls.join('\n') + (nl && ls.length ? '\n' : ''), how];
  }

  private edits: Array<[string, number, () => string | undefined]> = [
    ['src-edit', 5, () => {
      const p = this.rng.pick([...this.model.src.keys()]);
      this.rememberSrc(p);
      // Sometimes the sneaky kind: same size, mtime put back (cp -p, rsync -t); only ctime tells.
      const sneaky = this.rng.chance(0.2);
      const [s, how] = this.mutateText(this.model.src.get(p)!, sneaky);
      const keep = sneaky || this.rng.chance(0.2);
      this.model.src.set(p, s);
      this.writeFile(p, s, keep);
      return `edit ${p} (${how}${keep ? ', mtime kept' : ''}) → ${JSON.stringify(s)}`;
    }],
    ['touch', 2, () => {
      const files = [...this.model.src.keys(), ...this.model.disk.keys()];
      const p = this.rng.pick(files);
      const when = this.rng.pick([0, 5, -100]);
      const t = new Date(Date.now() + when * 1000);
      fs.utimesSync(this.rig.path(p), t, t);
      return `touch ${p} (${when >= 0 ? '+' : ''}${when}s)`;
    }],
    ['rewrite-same', 1, () => {
      const files = [...this.model.src.keys(), ...this.model.disk.keys()];
      const p = this.rng.pick(files);
      this.writeFile(p, this.model.src.get(p) ?? this.model.disk.get(p)!, false);
      return `rewrite ${p} with identical bytes`;
    }],
    ['param-v', 3, () => {
      const t = this.rng.pick(this.model.targets);
      this.rememberParam(t, 'v');
      t.params.v = randomV(this.rng, t.op);
      this.configDirty = true;
      return `param ${t.name}.v = ${JSON.stringify(t.params.v)}`;
    }],
    ['param-note', 2, () => {
      const t = this.rng.pick(this.model.targets);
      this.rememberParam(t, 'note');
      t.params.note = this.rng.chance(0.2) ? undefined : randomNote(this.rng);
      if (t.params.note === undefined) delete t.params.note;
      this.configDirty = true;
      return `param ${t.name}.note = ${JSON.stringify(t.params.note)} (not used by the command)`;
    }],
    ['variant', 1, () => {
      const t = this.rng.pick(this.model.targets);
      t.variant = t.variant && this.rng.chance(0.5) ? t.variant - 1 : t.variant + 1;
      this.configDirty = true;
      return `command text of ${t.name} changed (variant ${t.variant}; same computation)`;
    }],
    ['revert', 3, () => {
      const kinds: string[] = [];
      const srcs = [...this.srcHistory.keys()].filter((p) => this.model.src.has(p));
      if (srcs.length) kinds.push('src');
      if (this.paramHistory.size) kinds.push('param');
      if (!kinds.length) return undefined;
      if (this.rng.pick(kinds) === 'src') {
        const p = this.rng.pick(srcs);
        const h = this.srcHistory.get(p)!;
        const s = this.rng.pick(h);
        this.rememberSrc(p);
        this.model.src.set(p, s);
        this.writeFile(p, s, false);
        return `revert ${p} to an earlier content ${JSON.stringify(s)}`;
      }
      const k = this.rng.pick([...this.paramHistory.keys()]);
      const [name, key] = k.split('\0') as [string, 'v' | 'note'];
      const t = this.model.byName.get(name)!;
      const val = this.rng.pick(this.paramHistory.get(k)!);
      this.rememberParam(t, key);
      if (val === undefined) delete t.params[key];
      else (t.params as Record<string, unknown>)[key] = val;
      this.configDirty = true;
      return `revert param ${name}.${key} to ${JSON.stringify(val)}`;
    }],
    ['delete-output', 2, () => {
      const t = this.rng.pick(this.model.targets);
      const files = [...this.model.disk.keys()].filter((f) => f === t.out || f.startsWith(t.out + '/'));
      if (!files.length) return undefined;
      if (t.dir && this.rng.chance(0.5)) {
        const f = this.rng.pick(files);
        fs.rmSync(this.rig.path(f));
        this.model.disk.delete(f);
        return `delete ${f} (one file of ${t.name}'s output folder)`;
      }
      fs.rmSync(this.rig.path(t.out), { recursive: true });
      for (const f of files) this.model.disk.delete(f);
      return `delete output ${t.out} of ${t.name}`;
    }],
    ['modify-output', 2, () => {
      const f = this.rng.pick([...this.model.disk.keys()]);
      const old = this.model.disk.get(f)!;
      let s: string;
      let how: string;
      if (old.length && this.rng.chance(0.5)) {
        const k = this.rng.int(old.length);
        s = old.slice(0, k) + (old[k] === 'Q' ? 'R' : 'Q') + old.slice(k + 1);
        how = 'same length';
      } else {
        s = old + 'hand edit\n';
        how = 'appended';
      }
      const keep = this.rng.chance(0.4);
      this.writeFile(f, s, keep);
      this.model.disk.set(f, s);
      return `modify output ${f} by hand (${how}${keep ? ', mtime kept' : ''})`;
    }],
    ['extra-file', 1, () => {
      const extras = [...this.model.src.keys()].filter((p) => p.startsWith('src/sub/x'));
      if (extras.length && this.rng.chance(0.5)) {
        const p = this.rng.pick(extras);
        fs.rmSync(this.rig.path(p));
        this.model.src.delete(p);
        return `remove ${p} (matched by src globs)`;
      }
      const p = `src/sub/x${this.model.extraCounter++}.txt`;
      const s = randomContent(this.rng);
      this.model.src.set(p, s);
      this.writeFile(p, s, false);
      return `add ${p} (matched by src globs) = ${JSON.stringify(s)}`;
    }],
    ['shuffle-config', 1, () => {
      this.rng.shuffle(this.model.order);
      for (const t of this.model.targets) if (this.rng.chance(0.3)) t.reverseKeys = !t.reverseKeys;
      this.configDirty = true;
      return 'reorder targets and params keys in tasks.config.ts (same meaning)';
    }],
    ['touch-config', 0.5, () => {
      this.configDirty = true;
      return 'rewrite tasks.config.ts unchanged';
    }],
    ['add-input', 1, () => {
      const t = this.rng.pick(this.model.targets);
      const earlier = this.model.targets.slice(0, t.idx);
      const choices = [...this.model.src.keys()].filter((p) => !p.startsWith('src/sub/x'));
      for (const u of earlier) {
        if (!u.dir) choices.push(u.out);
        else {
          if (t.op !== 'node') choices.push(u.out);
          choices.push(`${u.out}/head.txt`, `${u.out}/tail.txt`);
        }
      }
      const p = this.rng.pick(choices);
      if (t.lits.includes(p)) return undefined;
      t.lits.push(p);
      this.configDirty = true;
      return `add input ${p} to ${t.name}`;
    }],
    ['remove-input', 1, () => {
      const t = this.rng.pick(this.model.targets);
      if (!t.lits.length || t.lits.length + t.deps.length + t.globs.length < 2) return undefined;
      const [p] = t.lits.splice(this.rng.int(t.lits.length), 1);
      this.configDirty = true;
      return `remove input ${p} from ${t.name}`;
    }],
    ['drop-stat-cache', 0.5, () => {
      const f = this.rig.path('.sbuild/stat-cache.json');
      if (this.rng.chance(0.5)) {
        fs.rmSync(f, { force: true });
        return 'delete .sbuild/stat-cache.json (everything is re-hashed; nothing may run)';
      }
      fs.writeFileSync(f, '{"format":1,"entries":{"src/s0.txt":[1,2');
      return 'corrupt .sbuild/stat-cache.json (rebuilt with a warning; nothing may run)';
    }],
    ['drop-lock', 0.2, () => {
      fs.rmSync(this.rig.path('sbuild.lock'), { force: true });
      this.model.traces.clear();
      return 'delete sbuild.lock (every target is unbuilt again)';
    }],
    ['break', 0.4, () => {
      if (this.failing().length) return undefined;
      const t = this.rng.pick(this.model.targets);
      t.params.fail = true;
      this.configDirty = true;
      return `break ${t.name} (its command writes a partial output and exits 3)`;
    }],
  ];

  applyEdits(): void {
    const lines: string[] = [];
    const failing = this.failing();
    if (failing.length && (this.rng.chance(0.6) || this.step === STEPS)) {
      for (const t of failing) delete t.params.fail;
      this.configDirty = true;
      lines.push(`fix ${failing.map((t) => t.name).join(', ')}`);
    }
    const n = 1 + (this.rng.chance(0.3) ? 1 : 0) + (this.rng.chance(0.1) ? 1 : 0);
    while (lines.length < n) {
      const kind = this.rng.weighted(this.edits.map(([k, w]) => [k, this.step === STEPS && k === 'break' ? 0 : w] as const));
      const fn = this.edits.find(([k]) => k === kind)![2];
      const d = fn();
      if (d) lines.push(d);
    }
    for (const l of lines) this.log.push(`step ${this.step}: ${l}`);
  }

  // ---------- builds and checks ----------

  /**
   * `sbuild -n` lists the stale targets and everything downstream of them (it cannot know about
   * early cutoff, except through a restore from the cache, whose outputs are known), marks
   * which it would restore, and runs nothing. Beyond the model's set it may list a target only
   * as "upstream will run" of another listed target: a graph edge the model does not have (an
   * over-approximation, e.g. a folder output a glob might reach) is harmless.
   */
  dryRun(): void {
    const r = this.rig.run(['-n', '--json']);
    this.eq(r.code, 0, `dry run exit code (stderr: ${r.stderr})`);
    const would = events(r).filter((e) => e.type === 'would-run') as Array<Event & { restore?: boolean; reasons?: Array<{ kind: string; dep?: string }> }>;
    const listed = would.map((e) => e.name!).sort();
    const expected = this.model.predictDryRun();
    const missing = expected.listed.filter((n) => !listed.includes(n));
    const extra = would.filter((e) => !expected.listed.includes(e.name!));
    const unexplained = extra.filter((e) => !(e.reasons?.length && e.reasons.every((x) => x.kind === 'upstream-will-run' && listed.includes(x.dep!))));
    if (missing.length || unexplained.length) {
      this.fail(
        `targets listed by \`sbuild -n\` differ from the model\n  not listed but stale (or downstream of stale): ${JSON.stringify(missing)}\n` +
        `  listed without cause: ${unexplained.map((e) => `${e.name}: ${(e.why ?? []).join('; ')}`).join(' | ')}\n` +
        `  listed: ${JSON.stringify(listed)}\n  expected: ${JSON.stringify(expected.listed)} (restore: ${JSON.stringify(expected.restore)})`,
      );
    }
    const restore = would.filter((e) => e.restore && expected.listed.includes(e.name!)).map((e) => e.name!).sort();
    this.eq(restore, expected.restore, '`sbuild -n`: targets marked "restore from the cache"');
    this.eq(this.rig.takeRuns(), [], 'targets a dry run executed');
  }

  build(what: string): void {
    const anyFail = this.failing().length > 0;
    const jobs = this.rng.pick([[], [], ['-j', '1'], ['-j', '4']]);
    // Plain output most of the time: those builds may be answered by the no-op snapshot, or judge
    // only the targets its delta touches (dirty-set planning); --json never uses either.
    const args = [...(this.rng.chance(0.2) ? ['--json'] : []), ...jobs, ...(anyFail ? ['-k'] : []), ...(this.rng.chance(0.3) ? ['all'] : [])];
    const r = this.rig.run(args);
    const ran = this.rig.takeRuns();
    const evs = events(r);
    const expected = this.model.build();
    // A stale target whose fingerprint was built before comes back from the local cache
    // (DESIGN.md, Staleness 3): a 'restored' event, its command does not run.
    const restored = evs.filter((e) => e.type === 'restored').map((e) => e.name!).sort();
    const starts = evs.filter((e) => e.type === 'start' || e.type === 'restored');
    const why = starts.map((e) => `    ${e.type === 'restored' ? 'restored ' : ''}${e.name}: ${(e.why ?? (e.reasons as Array<{ kind: string }> | undefined)?.map((x) => x.kind) ?? []).join('; ')}`).join('\n');
    const expectCode = expected.failed.length ? 1 : 0;
    if (r.code !== expectCode) this.fail(`${what}: exit code ${r.code}, expected ${expectCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    const diff = (label: string, actual: string[], exp: string[]) => {
      const extra = actual.filter((n) => !exp.includes(n));
      const missing = exp.filter((n) => !actual.includes(n));
      if (!extra.length && !missing.length && actual.length === exp.length) return;
      this.fail(
        `${what}: the targets that ${label} differ from the model\n` +
        `  ${label} but should not have: ${JSON.stringify(extra)}\n  should have ${label === 'ran' ? 'run' : label} but did not: ${JSON.stringify(missing)}\n` +
        `  actual: ${JSON.stringify(actual)}\n  expected: ${JSON.stringify(exp)}\n` +
        `  (model: ran ${JSON.stringify(expected.ran)}, restored ${JSON.stringify(expected.restored)})\n  sbuild's reasons:\n${why}`,
      );
    };
    diff('ran', ran, expected.ran);
    diff('restored', restored, expected.restored);
    this.eq(evs.filter((e) => e.type === 'start').map((e) => e.name!).sort(), ran, `${what}: 'start' events vs runs.log`);
    this.eq(evs.filter((e) => e.type === 'failed').map((e) => e.name!).sort(), expected.failed, `${what}: failed targets`);
    this.checkOutputs(what);
  }

  checkOutputs(what: string): void {
    const actual = outFiles(this.rig.dir);
    const expected = new Map([...this.model.disk].sort((a, b) => byteOrder(a[0], b[0])));
    this.eq([...actual.keys()], [...expected.keys()], `${what}: files under out/`);
    for (const [f, c] of expected) this.eq(actual.get(f), c, `${what}: content of ${f} (vs the model)`);
  }

  /**
   * Every producer of a target's inputs is an edge of sbuild's graph (so the target waits for
   * it), also in a cold workspace where no output exists yet. Extra edges are allowed.
   */
  checkGraph(rig: Rig, what: string): void {
    const r = rig.run(['graph', '--format', 'json']);
    if (r.code !== 0) this.fail(`${what}: \`sbuild graph --format json\` exited ${r.code}\n${r.stderr}`);
    const g = JSON.parse(r.stdout) as { edges: Array<{ from: string; to: string }> };
    const edges = new Set(g.edges.map((e) => `${e.from} -> ${e.to}`));
    const missing: string[] = [];
    for (const t of this.model.targets) {
      for (const u of this.model.upstreams(t)) {
        const e = `${this.model.targets[u]!.name} -> ${t.name}`;
        if (!edges.has(e)) missing.push(`${e} (${t.name} reads ${this.model.inputFiles(t).filter((f) => f === this.model.targets[u]!.out || f.startsWith(this.model.targets[u]!.out + '/')).join(', ')})`);
      }
    }
    if (missing.length) this.fail(`${what}: sbuild's graph lacks edges from producers to consumers:\n  ${missing.join('\n  ')}`);
  }

  /** A from-scratch build of the same config and sources in a fresh workspace gives the same bytes. */
  cleanCompare(): void {
    const clean = new Rig();
    try {
      clean.write('tasks.config.ts', this.model.configText());
      for (const [p, c] of this.model.src) clean.write(p, c);
      this.checkGraph(clean, 'graph of a cold workspace');
      const r = clean.run(['--json']);
      if (r.code !== 0) this.fail(`clean build failed (${clean.dir}):\n${r.stdout}\n${r.stderr}`);
      this.eq(clean.takeRuns(), this.model.targets.map((t) => t.name).sort(), 'clean build: targets that ran');
      const fresh = outFiles(clean.dir);
      const incr = outFiles(this.rig.dir);
      this.eq([...incr.keys()], [...fresh.keys()], 'incremental vs clean build: files under out/');
      for (const [f, c] of fresh) this.eq(incr.get(f), c, `incremental vs clean build: content of ${f}`);
    } finally {
      clean.cleanup();
    }
  }

  run(): void {
    this.writeConfig();
    this.log.push(`step 0: initial build of ${this.model.targets.length} targets, sources ${[...this.model.src.keys()].join(' ')}`);
    this.checkGraph(this.rig, 'graph before the first build');
    this.build('initial build');
    this.build('second run after the initial build');
    for (this.step = 1; this.step <= STEPS; this.step++) {
      this.applyEdits();
      if (this.configDirty) this.writeConfig();
      if (this.rng.chance(DRY_RUNS)) this.dryRun();
      this.build('build after the edits');
      this.build('immediate second run');
      if (!this.failing().length && (this.step % CLEAN_EVERY === 0 || this.step === STEPS)) {
        this.checkGraph(this.rig, 'graph of the incremental workspace');
        this.cleanCompare();
      }
    }
    if (this.failing().length) this.fail('internal: a target is still broken at the last step');
  }
}

for (const seed of SEEDS) {
  test(`random graphs: seed ${seed}${new Rng(seed ^ 0x5bd1e995).chance(0.4) ? ' (hardlink cache)' : ''}`, () => {
    const s = new SeedRun(seed);
    try {
      s.run();
      if (process.env.FUZZ_VERBOSE) console.log(`seed ${seed}:\n${s.model.configText()}\n${s.log.join('\n')}\nearly cutoffs: ${s.model.cutoffs}`);
    } finally {
      if (!process.env.FUZZ_KEEP) s.rig.cleanup();
    }
  });
}
