// The file side of `sbuild watch`, without a build: which paths an event batch really changed
// (judged against the stat cache a build left), the debounce window, and which folders are watched.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileHasher } from '../../src/hashing/file-hasher.js';
import { sha256 } from '../../src/hashing/sha256.js';
import { classify, Debouncer, FolderWatcher, foldersFor, ignoredPath, type ChangeView } from '../../src/engine/watcher.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tmp(): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-watcher-')));
  dirs.push(d);
  return d;
}

function write(root: string, rel: string, text: string): string {
  const abs = path.join(root, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, text);
  return abs;
}

/** A view over a real stat cache, as the last build left it after hashing `seen`. */
function setup(files: Record<string, string>, seen: string[], extra: Partial<ChangeView> = {}) {
  const root = tmp();
  for (const [rel, text] of Object.entries(files)) write(root, rel, text);
  const h = new FileHasher(root, path.join(root, '.sbuild', 'stat-cache.json'));
  for (const rel of seen) h.hashFile(rel) ?? h.stat(rel);
  const trees = new Set(['data', 'o/folder']);
  const view: ChangeView = {
    root,
    statMemo: (r) => h.statMemo(r),
    recordedHash: (r) => h.recordedHash(r),
    hashNow: (r) => h.hashFile(r)?.hash,
    invalidate: (r) => h.invalidate(r),
    hasStatsBelow: (r) => h.hasStatsBelow(r),
    goneBelow: (r) => h.goneBelow(r),
    configFiles: new Map(),
    inTree: (r) => [...trees].some((t) => r === t || r.startsWith(t + '/')),
    isOutput: (r) => r === 'o/table.tsv',
    globMatches: new Map([['metrics/*.json', ['metrics/a.json']]]),
    watched: () => false,
    ...extra,
  };
  const at = (...rels: string[]) => new Map(rels.map((r) => [path.join(root, r), Date.now()] as [string, number]));
  return { root, h, view, at };
}

/** Makes a file's stat differ from what was memoised (a later mtime), keeping or changing its bytes. */
function rewrite(root: string, rel: string, text: string): void {
  fs.writeFileSync(path.join(root, rel), text);
  const t = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(root, rel), t, t);
}

test("sbuild's own state, version control and dependencies are never changes", () => {
  for (const p of ['.sbuild/stat-cache.json', 'sbuild.lock', 'sbuild.lock.tmp-12-3', '.git/index', 'node_modules/x/y.js', 'a/node_modules/z']) assert.ok(ignoredPath(p), p);
  for (const p of ['sbuild.lockfile.txt', 'configs/a.py', '/abs/outside/file']) assert.ok(!ignoredPath(p), p);
  const { view, at, root } = setup({ 'in.txt': 'x' }, ['in.txt']);
  write(root, '.sbuild/journal.jsonl', '{}');
  write(root, 'sbuild.lock', '{}');
  assert.deepEqual(classify(at('.sbuild/journal.jsonl', 'sbuild.lock'), view).changed, []);
});

test('an edited input changes; the same bytes under a new stat (touch) do not; a write the build already hashed does not', () => {
  const { view, at, root, h } = setup({ 'a.txt': 'one', 'b.txt': 'two', 'out.txt': 'result' }, ['a.txt', 'b.txt']);
  rewrite(root, 'a.txt', 'ONE');
  rewrite(root, 'b.txt', 'two');
  const c = classify(at('a.txt', 'b.txt'), view);
  assert.deepEqual(c.changed, ['a.txt']);
  assert.equal(h.hashFile('a.txt')!.hash, sha256('ONE'), 'the stat was taken afresh');
  // An output the build wrote and then hashed: the event that arrives later names a stat the build saw.
  const { view: v2, root: r2 } = setup({ 'out.txt': 'result' }, ['out.txt']);
  const past = new Map([[path.join(r2, 'out.txt'), Date.now() - 60_000]]);
  assert.deepEqual(classify(past, v2).changed, []);
});

test('a write in the same timestamp tick as the read (same stat) is caught when its event came after the read', () => {
  const { view, root } = setup({ 'a.txt': 'one' }, ['a.txt']);
  const st = fs.statSync(path.join(root, 'a.txt'));
  // The stat cache saw `one` at this very stat; the bytes on disk are now other ones of the same size.
  const racy: ChangeView = { ...view, statMemo: () => st, recordedHash: () => ({ hash: sha256('one'), hashedAt: Date.now() - 10 }) };
  fs.writeFileSync(path.join(root, 'a.txt'), 'eno');
  const c = classify(new Map([[path.join(root, 'a.txt'), Date.now()]]), racy);
  assert.deepEqual(c.changed, ['a.txt']);
});

test('a deleted input or output changes; files no build looked at change nothing outside folder inputs and globs', () => {
  const { view, at, root } = setup({ 'a.txt': 'one', 'o/table.tsv': 't', 'data/x.png': 'p', 'notes.md': 'n' }, ['a.txt', 'o/table.tsv', 'data/x.png']);
  fs.rmSync(path.join(root, 'a.txt'));
  fs.rmSync(path.join(root, 'o/table.tsv'));
  write(root, 'data/y.png', 'new image'); // inside a folder input
  write(root, 'scratch.swp', 'editor'); // nobody reads it
  write(root, 'notes.md', 'edited, but no target reads it');
  const c = classify(at('a.txt', 'o/table.tsv', 'data/y.png', 'scratch.swp', 'notes.md'), view);
  assert.deepEqual(c.changed, ['a.txt', 'data/y.png', 'o/table.tsv']);
});

test('glob inputs follow the disk: a new match or a removed one changes; a new folder is looked into', () => {
  const { view, at, root } = setup({ 'metrics/a.json': '{}' }, ['metrics/a.json']);
  write(root, 'metrics/b.json', '{}');
  write(root, 'metrics/readme.txt', 'not matched');
  let c = classify(at('metrics/b.json', 'metrics/readme.txt'), view);
  assert.deepEqual(c.changed, ['metrics/b.json']);
  assert.deepEqual([...c.globs], [['metrics/*.json', ['metrics/b.json']]]);
  assert.deepEqual(view.globMatches.get('metrics/*.json'), ['metrics/a.json', 'metrics/b.json']);
  fs.rmSync(path.join(root, 'metrics/a.json'));
  c = classify(at('metrics/a.json'), view);
  assert.deepEqual(c.changed, ['metrics/a.json']);
  assert.deepEqual(view.globMatches.get('metrics/*.json'), ['metrics/b.json']);
  // A folder created with files in it: no watcher saw them, so they are looked at now.
  write(root, 'data/sub/deep.png', 'x');
  c = classify(at('data/sub'), view);
  assert.ok(c.folders);
  assert.deepEqual(c.changed, ['data/sub/deep.png']);
});

test('a config file changes only when its bytes do', () => {
  const root = tmp();
  const cfg = write(root, 'tasks.config.ts', 'export default {}');
  const { view } = setup({}, [], { root, configFiles: new Map([[cfg, { how: 'read' as const, seen: sha256('export default {}') }]]) });
  const t = new Date(Date.now() + 3000);
  fs.utimesSync(cfg, t, t);
  assert.deepEqual(classify(new Map([[cfg, Date.now()]]), view).config, []);
  fs.writeFileSync(cfg, 'export default { targets: [] }');
  assert.deepEqual(classify(new Map([[cfg, Date.now()]]), view).config, [cfg]);
});

test('the debouncer hands over one batch per quiet window, holds during a build, and caps the wait', async () => {
  const batches: string[][] = [];
  const d = new Debouncer(40, (paths) => batches.push([...paths.keys()].sort()), 200);
  d.add('/a');
  d.add('/b');
  d.add('/a');
  await sleep(120);
  assert.deepEqual(batches, [['/a', '/b']]);
  d.hold();
  d.add('/c');
  await sleep(100);
  assert.equal(batches.length, 1, 'nothing is handed over while held');
  d.release();
  await sleep(100);
  assert.deepEqual(batches[1], ['/c']);
  // A steady stream of events: handed over after at most maxMs.
  const t0 = Date.now();
  while ((batches.length as number) === 2 && Date.now() - t0 < 2000) {
    d.add(`/s${Date.now()}`);
    await sleep(10);
  }
  assert.equal(batches.length, 3);
  assert.ok(Date.now() - t0 < 1500, `capped at maxMs, took ${Date.now() - t0} ms`);
  d.close();
});

test('watched folders: the folder of each file (or the nearest existing one above it), every folder of a tree', async () => {
  const root = tmp();
  write(root, 'configs/a.py', 'x');
  write(root, 'work/e1/m.json', '{}');
  write(root, 'work/e2/sub/m.json', '{}');
  write(root, 'work/node_modules/pkg/index.js', '');
  const folders = foldersFor({ files: [path.join(root, 'configs/a.py'), path.join(root, 'out/not/yet/made.txt')], trees: [path.join(root, 'work'), path.join(root, 'missing/tree')] });
  const rel = [...folders].map((f) => path.relative(root, f) || '.').sort();
  assert.deepEqual(rel, ['.', 'configs', 'work', 'work/e1', 'work/e2', 'work/e2/sub']);
  // The handles report paths as events name them.
  const seen: string[] = [];
  const w = new FolderWatcher((p) => seen.push(path.relative(root, p)));
  w.sync(folders);
  assert.equal(w.size, 6);
  write(root, 'work/e2/sub/new.json', '{}');
  for (let i = 0; i < 200 && !seen.includes('work/e2/sub/new.json'); i++) await sleep(10);
  assert.ok(seen.includes('work/e2/sub/new.json'), seen.join(' '));
  w.sync(new Set([path.join(root, 'configs')]));
  assert.equal(w.size, 1);
  w.close();
  assert.equal(w.size, 0);
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
