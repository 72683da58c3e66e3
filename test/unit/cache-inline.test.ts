// Small files kept in their action entry (cache.ts, CachedFile): only the bytes that were
// hashed are kept, the per-entry budget sends the rest to blobs, and hardlink mode keeps none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileHasher } from '../../src/hashing/file-hasher.js';
import { statCachePath } from '../../src/engine/state-paths.js';
import { LocalStore } from '../../src/cache/local-store.js';
import { outputBlobs, restoreOutputs } from '../../src/cache/outputs.js';
import { checkResult } from '../../src/cache/verify.js';
import { cachedFiles, INLINE_BUDGET, INLINE_MAX } from '../../src/cache/cache.js';
import type { GraphNode } from '../../src/graph/graph.js';

function workspace(files: Record<string, string | Buffer>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-unit-'));
  for (const [f, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), data);
  }
  return root;
}

/** What outputBlobs reads of a node: its declared outputs. */
const nodeWith = (outputs: string[]) => ({ name: 't', outputs }) as unknown as GraphNode;

test('a small output is kept as the bytes that were hashed; one rewritten since is not cached at all', () => {
  const root = workspace({ 'out/m.json': '{"AP": 0.41}\n' });
  const hasher = new FileHasher(root, statCachePath(root));
  const rec = hasher.hashFile('out/m.json')!;
  const store = new LocalStore(root);
  const kept = outputBlobs(store, hasher, root, nodeWith(['out/m.json']), { 'out/m.json': rec })!;
  const m = kept.outputs['out/m.json']!;
  assert.equal(m.kind === 'file' && Buffer.from(m.data!, 'base64').toString(), '{"AP": 0.41}\n');
  assert.deepEqual(store.blobsOf(kept), [], 'no blob');
  // Same size, other bytes, after the hash was taken: caching them under that hash would be a lie.
  fs.writeFileSync(path.join(root, 'out/m.json'), '{"AP": 0.99}\n');
  assert.equal(outputBlobs(store, hasher, root, nodeWith(['out/m.json']), { 'out/m.json': rec }), undefined);
  fs.rmSync(root, { recursive: true });
});

test('past the per-entry budget files are blobs; all of them come back byte for byte', () => {
  const n = Math.floor(INLINE_BUDGET / INLINE_MAX) + 4;
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < n; i++) files[`vis/img${String(i).padStart(2, '0')}.png`] = Buffer.alloc(INLINE_MAX, i);
  files['vis/big.bin'] = Buffer.alloc(INLINE_MAX + 1, 0xff);
  const root = workspace(files);
  const hasher = new FileHasher(root, statCachePath(root));
  const store = new LocalStore(root);
  const kept = outputBlobs(store, hasher, root, nodeWith(['vis']))!;
  const all = [...cachedFiles(kept)];
  assert.equal(all.length, n + 1);
  assert.equal(all.filter(([, f]) => f.data !== undefined).length, INLINE_BUDGET / INLINE_MAX, 'inline up to the budget');
  assert.equal(store.blobsOf(kept).length, n + 1 - INLINE_BUDGET / INLINE_MAX);
  assert.equal(all.find(([p]) => p === 'vis/big.bin')![1].data, undefined, 'larger than INLINE_MAX: a blob');
  const checked = checkResult(JSON.parse(JSON.stringify(kept)));
  assert.ok('result' in checked);
  fs.rmSync(path.join(root, 'vis'), { recursive: true });
  restoreOutputs(store, hasher, root, checked.result);
  for (const [f, data] of Object.entries(files)) assert.ok(fs.readFileSync(path.join(root, f)).equals(data), f);
  fs.rmSync(root, { recursive: true });
});

test('hardlink mode keeps no file inline: outputs are links to their blobs', () => {
  const root = workspace({ 'out/m.json': 'small\n' });
  const hasher = new FileHasher(root, statCachePath(root));
  const store = new LocalStore(root, 'hardlink');
  const kept = outputBlobs(store, hasher, root, nodeWith(['out/m.json']))!;
  assert.equal(store.blobsOf(kept).length, 1);
  assert.equal(fs.statSync(path.join(root, 'out/m.json')).nlink, 2);
  fs.rmSync(root, { recursive: true });
});
