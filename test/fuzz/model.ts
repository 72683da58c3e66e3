// A random build graph and an executable model of what sbuild must do with it.
//
// The model knows, for every target, what it consumed and produced at its last successful
// run (its "trace"), so it predicts the exact set of targets a build runs: a target runs iff
// it has no trace, its command or params changed, the content of any of its inputs (for an
// upstream output: the bytes that upstream has *now*, so early cutoff applies) differs from
// what it consumed, its input set changed, or one of its outputs is missing or modified.
// Such a target is restored from the local cache instead of run when its current fingerprint
// was built before (a revert, a deleted or hand-edited output). Commands are small deterministic shell / `node -e` programs; the model computes their
// output bytes itself, so a clean build can be checked against it as well.
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Rng } from './prng.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type Op = 'cat' | 'upper' | 'lines' | 'head' | 'const' | 'sortu' | 'count' | 'split' | 'node';

export interface GlobSpec {
  pattern: string;
  /** A `find` command (run from the workspace root) listing the same files on disk. */
  find: string;
}

export interface TargetSpec {
  idx: number;
  name: string;
  op: Op;
  /** Declared output: a file, or a folder (`split`) holding head.txt and tail.txt. */
  out: string;
  dir: boolean;
  /** Literal inputs: sources, upstream outputs (file or folder), or a file inside an upstream folder. */
  lits: string[];
  /** Targets consumed through `deps` (their outputs become inputs). */
  deps: string[];
  globs: GlobSpec[];
  /** v: used by the command; note: not used by the command (fingerprint only); fail: command exits 3. */
  params: { v: Json; note?: Json; fail?: boolean };
  /** Bumped to change the command text without changing what it computes. */
  variant: number;
  /** Render params keys in reverse order (must not matter). */
  reverseKeys: boolean;
}

export interface Trace {
  key: string;
  outputs: Map<string, string>;
}

export interface BuildPrediction {
  /** Targets whose command runs (stale, and this fingerprint never built before). */
  ran: string[];
  /** Stale targets whose current fingerprint was built before: restored from the local cache. */
  restored: string[];
  failed: string[];
  blocked: string[];
}

const OPS: Array<[Op, number]> = [
  ['cat', 3], ['upper', 1], ['lines', 2], ['head', 2], ['const', 1], ['sortu', 2], ['count', 2], ['split', 1.2], ['node', 1],
];
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta', 'theta', 'iota', 'kappa'];
const TOKENS = ['a1', 'b2', 'c3', 'q', 'zz', 'k9'];
const LETTERS = ['a', 'e', 't', 'z', 'k'];
const NOTES: Json[] = ['n1', 'n2', 7, true, null, { k: [1, 'x'], j: 2 }, ['p', 'q']];

export function randomLine(rng: Rng): string {
  const n = 1 + rng.int(3);
  return Array.from({ length: n }, () => rng.pick(WORDS)).join(' ');
}

export function randomContent(rng: Rng): string {
  const n = 1 + rng.int(5);
  let s = Array.from({ length: n }, () => randomLine(rng)).join('\n');
  if (!rng.chance(0.1)) s += '\n'; // sometimes no trailing newline
  return s;
}

export function randomV(rng: Rng, op: Op): Json {
  switch (op) {
    case 'head': return 2 + rng.int(30);
    case 'split': return 1 + rng.int(3);
    case 'node': return 2 + rng.int(6);
    case 'sortu': return rng.pick(['f', 'r']);
    case 'count': return rng.pick(LETTERS);
    default: return rng.pick(TOKENS);
  }
}

export function randomNote(rng: Rng): Json {
  return rng.pick(NOTES);
}

const pad = (i: number) => String(i).padStart(2, '0');

export class Model {
  /** The local cache's mode (`localCache`): hardlink makes outputs read-only links to their blobs. */
  cacheMode: 'copy' | 'hardlink' = 'copy';
  readonly targets: TargetSpec[] = [];
  readonly byName = new Map<string, TargetSpec>();
  /** Source files: path → content. */
  readonly src = new Map<string, string>();
  /** Output files on disk (files of folder outputs included): path → content. */
  readonly disk = new Map<string, string>();
  readonly traces = new Map<string, Trace>();
  /** Times a target stayed fresh although an upstream of it ran (early cutoff), for FUZZ_VERBOSE. */
  cutoffs = 0;
  /** Every fingerprint key each target was ever built with. */
  readonly everBuilt = new Map<string, Set<string>>();
  /** Order in which targets are written into tasks.config.ts (a permutation; must not matter). */
  order: number[] = [];
  extraCounter = 0;

  /** A random DAG: sources, then targets whose inputs are sources and/or earlier targets' outputs. */
  static generate(rng: Rng, nTargets: number): Model {
    const m = new Model();
    const nSrc = 3 + rng.int(3);
    for (let i = 0; i < nSrc; i++) m.src.set(`src/s${i}.txt`, randomContent(rng));
    m.src.set('src/sub/k0.txt', randomContent(rng));
    m.src.set('src/sub/k1.txt', randomContent(rng));
    const permanentSources = [...m.src.keys()];
    for (let i = 0; i < nTargets; i++) {
      const op = rng.weighted(OPS);
      const name = rng.chance(0.2) ? `x/n${pad(i)}` : `n${pad(i)}`;
      const fname = name.replace('/', '-');
      const group = Math.floor(i / 4);
      let out: string;
      // Folder outputs (split) in a group are matched by group globs through the files inside them.
      // Some folder names have a dot (`exp.v2`): a folder cannot be told from a file by its name.
      if (op === 'split') out = `${rng.chance(0.5) ? `out/g${group}` : 'out/d'}/${fname}${rng.chance(0.3) ? '.v2' : ''}`;
      else if (rng.chance(0.6)) out = `out/g${group}/${rng.chance(0.3) ? 'sub/' : ''}${fname}.txt`;
      else out = `out/p/${fname}.txt`;
      const t: TargetSpec = {
        idx: i, name, op, out, dir: op === 'split', lits: [], deps: [], globs: [],
        params: { v: randomV(rng, op) }, variant: 0, reverseKeys: false,
      };
      if (rng.chance(0.5)) t.params.note = randomNote(rng);
      const earlier = m.targets;
      const wantInputs = 1 + rng.int(3);
      for (let tries = 0; tries < 12 && t.lits.length + t.deps.length + t.globs.length < wantInputs; tries++) {
        const kinds: Array<['src' | 'up' | 'dep' | 'glob', number]> = [['src', earlier.length < 3 ? 3 : 1.2]];
        if (earlier.length) kinds.push(['up', 3], ['dep', 1.5]);
        if (op !== 'node') kinds.push(['glob', 1.5]);
        const kind = rng.weighted(kinds);
        // Prefer recent upstreams, for deep chains.
        const up = earlier.length ? earlier[Math.max(0, earlier.length - 1 - Math.floor(rng.float() * rng.float() * earlier.length * 1.5))]! : undefined;
        if (kind === 'src') {
          const p = rng.pick(permanentSources);
          if (!t.lits.includes(p)) t.lits.push(p);
        } else if (kind === 'up' && up) {
          let p = up.out;
          if (up.dir && (op === 'node' || rng.chance(0.6))) p = `${up.out}/${rng.pick(['head.txt', 'tail.txt'])}`;
          if (!t.lits.includes(p)) t.lits.push(p);
        } else if (kind === 'dep' && up) {
          if (op === 'node' && up.dir) continue;
          if (!t.deps.includes(up.name)) t.deps.push(up.name);
        } else if (kind === 'glob') {
          const g = m.randomGlob(rng, i);
          if (g && !t.globs.some((x) => x.pattern === g.pattern)) t.globs.push(g);
        }
      }
      if (t.lits.length + t.deps.length + t.globs.length === 0) t.lits.push(rng.pick(permanentSources));
      m.targets.push(t);
      m.byName.set(name, t);
    }
    m.order = m.targets.map((t) => t.idx);
    return m;
  }

  private randomGlob(rng: Rng, i: number): GlobSpec | undefined {
    const options: GlobSpec[] = [
      { pattern: 'src/sub/*.txt', find: "find src/sub -type f -name '*.txt'" },
      { pattern: 'src/**/*.txt', find: "find src -type f -name '*.txt'" },
    ];
    // Output groups whose members all come before target i (so the glob cannot close a cycle).
    const ownGroup = Math.floor(i / 4);
    const grouped = this.targets.filter((t) => t.out.startsWith('out/g'));
    for (let k = 0; k < ownGroup && k < 10; k++) {
      if (grouped.some((t) => t.out.startsWith(`out/g${k}/`))) {
        options.push({ pattern: `out/g${k}/**/*.txt`, find: `find out/g${k} -type f -name '*.txt'` });
      }
      // Only the files inside the group's folder outputs (like `work_dirs/**/*_metrics.json`).
      if (grouped.some((t) => t.dir && t.out.startsWith(`out/g${k}/`))) {
        const f = rng.pick(['head.txt', 'tail.txt']);
        options.push({ pattern: `out/g${k}/**/${f}`, find: `find out/g${k} -type f -name '${f}'` });
      }
      if (k > 0 && grouped.some((t) => Number(t.out[5]) <= k)) {
        options.push({ pattern: `out/g[0-${k}]/**/*.txt`, find: `find out -type f -path 'out/g[0-${k}]/*' -name '*.txt'` });
      }
    }
    return rng.pick(options);
  }

  // ---- what a target reads and writes ----

  outputFiles(t: TargetSpec): string[] {
    return t.dir ? [`${t.out}/head.txt`, `${t.out}/tail.txt`] : [t.out];
  }

  private ownerOfDir(p: string): TargetSpec | undefined {
    return this.targets.find((t) => t.dir && t.out === p);
  }

  /** Every file the target reads (its resolved inputs), sorted byte-wise, deduplicated. */
  inputFiles(t: TargetSpec): string[] {
    const files = new Set<string>();
    for (const p of t.lits) {
      const d = this.ownerOfDir(p);
      if (d) for (const f of this.outputFiles(d)) files.add(f);
      else files.add(p);
    }
    for (const n of t.deps) for (const f of this.outputFiles(this.byName.get(n)!)) files.add(f);
    if (t.globs.length) {
      // What a glob sees: sources, declared file outputs, and the files a folder output holds.
      const candidates = [...this.src.keys(), ...this.targets.flatMap((u) => this.outputFiles(u))];
      for (const g of t.globs) {
        const m = picomatch(g.pattern, { dot: true });
        for (const c of candidates) if (m(c)) files.add(c);
      }
    }
    return [...files].sort(byteOrder);
  }

  /** Targets this one depends on in sbuild's graph (producers of its inputs). */
  upstreams(t: TargetSpec): Set<number> {
    const ups = new Set<number>();
    for (const f of this.inputFiles(t)) {
      const u = this.targets.find((x) => x !== t && (x.out === f || f.startsWith(x.out + '/')));
      if (u) ups.add(u.idx);
    }
    for (const n of t.deps) ups.add(this.byName.get(n)!.idx);
    return ups;
  }

  private content(p: string): string | undefined {
    return this.src.has(p) ? this.src.get(p) : this.disk.get(p);
  }

  // ---- the command and config text ----

  command(t: TargetSpec): string | string[] {
    const log = `echo ${t.name} >> runs.log; `;
    const variant = t.variant ? `; : variant ${t.variant}` : '';
    if (t.params.fail) {
      const w = t.dir ? `mkdir -p ${t.out} && echo partial > ${t.out}/head.txt` : `echo partial > ${t.out}`;
      return `${log}${w}; exit 3${variant}`;
    }
    const v = t.params.v;
    if (t.op === 'node') {
      const script =
        "const fs=require('fs');const a=process.argv.slice(1);fs.appendFileSync('runs.log',a[0]+'\\n');" +
        "const s=a.slice(3).map(p=>fs.readFileSync(p,'utf8')).join('');" +
        "fs.writeFileSync(a[1],'len%'+a[2]+'='+(s.length%Number(a[2]))+'\\n')" + (t.variant ? `//variant ${t.variant}` : '');
      return ['node', '-e', script, t.name, t.out, String(v), ...this.inputFiles(t)]; // no globs: fixed list
    }
    // The file list is computed at run time (globs!), sorted byte-wise like the model.
    const literal: string[] = [];
    const dirs: string[] = [];
    const addOut = (u: TargetSpec) => (u.dir ? dirs.push(u.out) : literal.push(u.out));
    for (const p of t.lits) {
      const d = this.ownerOfDir(p);
      if (d) addOut(d);
      else literal.push(p);
    }
    for (const n of t.deps) addOut(this.byName.get(n)!);
    const parts: string[] = [];
    if (literal.length) parts.push(`printf '%s\\n' ${literal.join(' ')}`);
    for (const d of dirs) parts.push(`find ${d} -type f`);
    for (const g of t.globs) parts.push(`${g.find} 2>/dev/null`);
    const cat = `for f in $({ ${parts.join('; ')}; } | LC_ALL=C sort -u); do cat "$f"; done`;
    let body: string;
    switch (t.op) {
      case 'cat': body = `{ echo "p=${v}"; ${cat}; } > ${t.out}`; break;
      case 'upper': body = `{ ${cat} | tr a-z A-Z; echo "${v}"; } > ${t.out}`; break;
      case 'lines': body = `${cat} | awk 'END{print "lines=" NR " p=${v}"}' > ${t.out}`; break;
      case 'head': body = `${cat} | head -c ${v} > ${t.out}`; break;
      case 'const': body = `echo "const ${v}" > ${t.out}`; break;
      case 'sortu': body = `${cat} | LC_ALL=C sort -u${v === 'r' ? 'r' : ''} > ${t.out}`; break;
      case 'count': body = `${cat} | awk '/${v}/{n++} END{print "${v}=" n+0}' > ${t.out}`; break;
      case 'split':
        body = `mkdir -p ${t.out} && ${cat} | head -n ${v} > ${t.out}/head.txt && ${cat} | tail -n +${Number(v) + 1} > ${t.out}/tail.txt`;
        break;
      default: throw new Error(`op ${t.op as string}`);
    }
    return `${log}${body}${variant}`;
  }

  private paramsObject(t: TargetSpec): Record<string, Json> {
    const entries = Object.entries(t.params).filter(([, v]) => v !== undefined) as Array<[string, Json]>;
    entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    if (t.reverseKeys) entries.reverse();
    const rev = (j: Json): Json => {
      if (!t.reverseKeys || j === null || typeof j !== 'object' || Array.isArray(j)) return j;
      return Object.fromEntries(Object.entries(j).reverse().map(([k, x]) => [k, rev(x)]));
    };
    return Object.fromEntries(entries.map(([k, x]) => [k, rev(x)]));
  }

  configText(): string {
    const lines = ["import { defineConfig } from 'sbuild';", '', 'export default defineConfig({', "  default: 'all',", ...(this.cacheMode === 'hardlink' ? ["  localCache: { mode: 'hardlink' },"] : []), '  targets: ['];
    const all = `    { name: 'all', deps: ${JSON.stringify(this.targets.map((t) => t.name))} },`;
    const allAt = this.order.length ? this.order[0]! % (this.order.length + 1) : 0;
    this.order.forEach((id, k) => {
      if (k === allAt) lines.push(all);
      const t = this.targets[id]!;
      const obj: Record<string, unknown> = { name: t.name, inputs: [...t.lits, ...t.globs.map((g) => g.pattern)] };
      if (t.deps.length) obj.deps = t.deps;
      obj.outputs = [t.out];
      obj.params = this.paramsObject(t);
      obj.run = this.command(t);
      lines.push(`    ${JSON.stringify(obj)},`);
    });
    if (allAt >= this.order.length) lines.push(all);
    lines.push('  ],', '});', '');
    return lines.join('\n');
  }

  // ---- the prediction ----

  private key(t: TargetSpec): string {
    const params = canonical(this.paramsObject(t));
    const inputs = this.inputFiles(t).map((f) => [f, this.content(f) ?? null]);
    return JSON.stringify({ cmd: this.command(t), params, inputs });
  }

  /** Would this target be stale now (against the current disk, upstream outputs as they are)? */
  staleNow(t: TargetSpec): string | undefined {
    const tr = this.traces.get(t.name);
    if (!tr) return 'never built (or last run failed)';
    if (tr.key !== this.key(t)) return 'command/params/inputs changed';
    for (const [f, c] of tr.outputs) if (this.disk.get(f) !== c) return `output ${f} missing or modified`;
    for (const f of this.diskFilesUnder(t.out)) if (!tr.outputs.has(f)) return `output ${f} added`;
    return undefined;
  }

  private diskFilesUnder(out: string): string[] {
    return [...this.disk.keys()].filter((f) => f === out || f.startsWith(out + '/'));
  }

  /**
   * What `sbuild -n` lists: stale targets and everything downstream of them, except that a
   * stale target the cache can restore (no upstream of it listed as changing, its fingerprint
   * built before) has known outputs: it does not make its dependents "upstream will run", and
   * they are judged against its restored outputs (which the model computes).
   */
  predictDryRun(): { listed: string[]; restore: string[] } {
    const saved = new Map(this.disk);
    const changed = new Set<number>();
    const listed: string[] = [];
    const restore: string[] = [];
    try {
      for (const t of this.targets) {
        const upstreamChanged = [...this.upstreams(t)].some((u) => changed.has(u));
        const stale = this.staleNow(t);
        if (!stale && !upstreamChanged) continue;
        listed.push(t.name);
        if (stale && !upstreamChanged && this.everBuilt.get(t.name)?.has(this.key(t))) {
          restore.push(t.name);
          for (const f of this.diskFilesUnder(t.out)) this.disk.delete(f);
          for (const [f, c] of this.compute(t)) this.disk.set(f, c);
        } else changed.add(t.idx);
      }
    } finally {
      this.disk.clear();
      for (const [f, c] of saved) this.disk.set(f, c);
    }
    return { listed: listed.sort(), restore: restore.sort() };
  }

  /** Simulates `sbuild -k all` on the model (mutating it) and returns what ran or was restored. */
  build(): BuildPrediction {
    const ran: string[] = [];
    const restored: string[] = [];
    const failed: string[] = [];
    const blocked = new Set<number>();
    for (const t of this.targets) {
      if ([...this.upstreams(t)].some((u) => blocked.has(u))) {
        blocked.add(t.idx);
        continue;
      }
      if (!this.staleNow(t)) {
        if ([...this.upstreams(t)].some((u) => ran.includes(this.targets[u]!.name) || restored.includes(this.targets[u]!.name))) this.cutoffs++;
        continue;
      }
      for (const f of this.diskFilesUnder(t.out)) this.disk.delete(f);
      if (t.params.fail) {
        // The partial output it wrote is moved to .sbuild/failed/: its declared path stays absent.
        this.traces.delete(t.name);
        ran.push(t.name);
        failed.push(t.name);
        blocked.add(t.idx);
        continue;
      }
      const key = this.key(t);
      const seen = this.everBuilt.get(t.name) ?? new Set<string>();
      (seen.has(key) ? restored : ran).push(t.name);
      seen.add(key);
      this.everBuilt.set(t.name, seen);
      const outputs = this.compute(t);
      for (const [f, c] of outputs) this.disk.set(f, c);
      this.traces.set(t.name, { key, outputs });
    }
    const names = (ids: Iterable<number>) => [...ids].map((i) => this.targets[i]!.name);
    return { ran: ran.sort(), restored: restored.sort(), failed: failed.sort(), blocked: names(blocked).filter((n) => !failed.includes(n)).sort() };
  }

  /** The bytes each command writes, computed in JS. */
  compute(t: TargetSpec): Map<string, string> {
    const s = this.inputFiles(t).map((f) => {
      const c = this.content(f);
      if (c === undefined) throw new Error(`model: input ${f} of ${t.name} has no content`);
      return c;
    }).join('');
    const v = t.params.v;
    const out = new Map<string, string>();
    const recs = records(s);
    switch (t.op) {
      case 'cat': out.set(t.out, `p=${v}\n${s}`); break;
      case 'upper': out.set(t.out, `${s.toUpperCase()}${v}\n`); break;
      case 'lines': out.set(t.out, `lines=${recs.length} p=${v}\n`); break;
      case 'head': out.set(t.out, s.slice(0, Number(v))); break;
      case 'const': out.set(t.out, `const ${v}\n`); break;
      case 'sortu': {
        const u = [...new Set(recs)].sort(byteOrder);
        if (v === 'r') u.reverse();
        out.set(t.out, u.map((l) => l + '\n').join(''));
        break;
      }
      case 'count': out.set(t.out, `${v}=${recs.filter((l) => l.includes(String(v))).length}\n`); break;
      case 'split': {
        const ls = s.match(/[^\n]*\n|[^\n]+$/g) ?? [];
        out.set(`${t.out}/head.txt`, ls.slice(0, Number(v)).join(''));
        out.set(`${t.out}/tail.txt`, ls.slice(Number(v)).join(''));
        break;
      }
      case 'node': out.set(t.out, `len%${v}=${s.length % Number(v)}\n`); break;
    }
    return out;
  }
}

/** Lines as awk / sort see them (a last line without newline still counts). */
function records(s: string): string[] {
  if (s === '') return [];
  const r = s.split('\n');
  if (r[r.length - 1] === '') r.pop();
  return r;
}

export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function canonical(j: Json): string {
  if (j === null || typeof j !== 'object') return JSON.stringify(j);
  if (Array.isArray(j)) return `[${j.map(canonical).join(',')}]`;
  return `{${Object.keys(j).sort().map((k) => `${JSON.stringify(k)}:${canonical(j[k]!)}`).join(',')}}`;
}

/** Every file under out/ with its content. */
export function outFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string) => {
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of ents) {
      const child = `${rel}/${d.name}`;
      if (d.isDirectory()) walk(child);
      else files.set(child, fs.readFileSync(path.join(root, child), 'utf8'));
    }
  };
  walk('out');
  return new Map([...files].sort((a, b) => byteOrder(a[0], b[0])));
}
