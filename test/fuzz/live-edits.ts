// Random edits of a workspace that test/fuzz/model.ts describes, as a user makes them while
// sbuild works (edits-during-builds, watch-edits), and the comparison with a clean build that
// those tests end each step with.
import fs from 'node:fs';
import { Rig } from '../helpers/rig.js';
import { Rng } from './prng.js';
import { Model, outFiles, randomContent, randomLine, randomV } from './model.js';

export interface EditKinds {
  /** Outputs deleted or edited by hand: only while no build runs (an output rewritten while its own job runs is, to any build tool, what that job made). */
  outputs: boolean;
  /** A param of a target rewritten in tasks.config.ts. */
  params: boolean;
}

/**
 * One edit, described: a source's content (sometimes same size with the mtime put back), a
 * glob-matched source added or removed, and, as `kinds` allows, a param or an output.
 */
export function liveEdit(rng: Rng, model: Model, rig: Rig, kinds: EditKinds): string {
  const extras = [...model.src.keys()].filter((p) => p.startsWith('src/sub/x'));
  const outputs = kinds.outputs ? [...outFiles(rig.dir).keys()] : [];
  const kind = rng.pick(['content', 'content', 'content', 'add', ...(kinds.params ? ['param'] : []), ...(extras.length ? ['remove'] : []), ...(outputs.length ? ['delete-output', 'modify-output'] : [])]);
  switch (kind) {
    case 'add': {
      const p = `src/sub/x${model.extraCounter++}.txt`;
      const s = randomContent(rng);
      model.src.set(p, s);
      rig.write(p, s);
      return `add ${p}`;
    }
    case 'remove': {
      const p = rng.pick(extras);
      fs.rmSync(rig.path(p));
      model.src.delete(p);
      return `remove ${p}`;
    }
    case 'param': {
      const t = rng.pick(model.targets);
      t.params.v = randomV(rng, t.op);
      rig.write('tasks.config.ts', model.configText());
      return `param ${t.name}.v = ${JSON.stringify(t.params.v)}`;
    }
    case 'delete-output':
    case 'modify-output': {
      const p = rng.pick(outputs);
      const abs = rig.path(p);
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
    default: {
      const p = rng.pick([...model.src.keys()]);
      const old = model.src.get(p)!;
      const sneaky = old.length > 0 && rng.chance(0.25);
      let s: string;
      if (sneaky) {
        const k = rng.int(old.length);
        s = old.slice(0, k) + (old[k] === 'a' ? 'e' : old[k] === '\n' ? '\n' : 'a') + old.slice(k + 1);
      } else s = old + randomLine(rng) + '\n';
      const abs = rig.path(p);
      const before = fs.statSync(abs);
      model.src.set(p, s);
      fs.writeFileSync(abs, s);
      // Same size, mtime put back (cp -p, rsync -t): only ctime and content tell.
      if (sneaky) fs.utimesSync(abs, before.atime, before.mtime);
      return `edit ${p}${sneaky ? ' (same size, mtime put back)' : ''}`;
    }
  }
}

/**
 * How the workspace's outputs differ from a clean build's of the model's config and sources,
 * one line per file (none: equal); `failed`: the clean build itself failed, with its output.
 */
export function diffFromClean(model: Model, rig: Rig): { failed?: string; diff: string[] } {
  const clean = new Rig();
  try {
    clean.write('tasks.config.ts', model.configText());
    for (const [p, c] of model.src) clean.write(p, c);
    const r = clean.run([]);
    if (r.code !== 0) return { failed: `${r.stdout}\n${r.stderr}`, diff: [] };
    const fresh = outFiles(clean.dir);
    const here = outFiles(rig.dir);
    const diff: string[] = [];
    for (const f of new Set([...fresh.keys(), ...here.keys()])) {
      if (fresh.get(f) !== here.get(f)) diff.push(`${f}: clean ${JSON.stringify(fresh.get(f))}, here ${JSON.stringify(here.get(f))}`);
    }
    return { diff };
  } finally {
    clean.cleanup();
  }
}

/** A seed's random graph written into a fresh workspace: `targets` ± `spread` targets, the cache mode drawn apart from the graph. */
export function seededWorkspace(seed: number, targets: number, spread: number): { rng: Rng; model: Model; rig: Rig } {
  const rng = new Rng(seed);
  const model = Model.generate(rng, targets + rng.int(spread + 1));
  // Drawn apart from the main sequence, so a seed's graph and edits stay what they were.
  model.cacheMode = new Rng(seed ^ 0x5bd1e995).chance(0.4) ? 'hardlink' : 'copy';
  const rig = new Rig();
  for (const [p, c] of model.src) rig.write(p, c);
  rig.write('tasks.config.ts', model.configText());
  return { rng, model, rig };
}
