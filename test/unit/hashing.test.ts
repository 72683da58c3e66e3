// Hash formats are pinned by golden values: changing them silently would make every
// committed sbuild.lock look stale (or, worse, fresh when it is not).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canonicalJson, sha256 } from '../../src/hashing/sha256.js';
import { fingerprintOf, actionIdentity, FINGERPRINT_FORMAT } from '../../src/hashing/fingerprint.js';
import { FileHasher } from '../../src/hashing/file-hasher.js';
import { statCachePath } from '../../src/engine/state-paths.js';

test('canonical JSON sorts keys at every level and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null }, u: undefined }), '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
  assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
});

test('golden fingerprint of a fixed record', () => {
  assert.equal(sha256('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const fp = fingerprintOf({
    format: FINGERPRINT_FORMAT,
    action: actionIdentity({ name: 't', run: ['python', 'train.py', '--lr', '0.1 0.2'] }),
    params: { lr: 0.1 },
    env: {},
    inputs: { 'a.txt': sha256('a') },
    outputs: ['o.txt'],
  });
  assert.equal(actionIdentity({ name: 't', run: ['python', 'train.py', '--lr', '0.1 0.2'] }), "exec: python train.py --lr '0.1 0.2'");
  assert.equal(fp, 'f194cf5147c36acc075d69728b5b57ffc395f25d52c2466fdb979b79f9e32b05');
});

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-unit-'));
}

test('the stat cache re-reads a file whose stat changed, and never trusts a racily-clean entry', () => {
  const root = tmp();
  const cache = statCachePath(root);
  fs.writeFileSync(path.join(root, 'f'), 'one');
  const h = new FileHasher(root, cache);
  assert.equal(h.hashFile('f')!.hash, sha256('one'));
  // Same size, rewritten within the same instant: must not be served from the cache.
  fs.writeFileSync(path.join(root, 'f'), 'two');
  const st = fs.statSync(path.join(root, 'f'));
  assert.equal(h.hashFile('f')!.hash, sha256('two'));
  h.save();
  // Forge the worst case: identical stat but new content, while the entry is racy (mtime ≈ hash time).
  fs.writeFileSync(path.join(root, 'f'), 'six');
  fs.utimesSync(path.join(root, 'f'), st.atime, st.mtime);
  const h2 = new FileHasher(root, cache);
  assert.equal(h2.hashFile('f')!.hash, sha256('six'), 'racily-clean entry was re-hashed');
  // An old file (mtime well before hashing) is served from the cache without reading it.
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(path.join(root, 'f'), old, old);
  const h3 = new FileHasher(root, cache);
  assert.equal(h3.hashFile('f')!.hash, sha256('six'));
  h3.save();
  const entries = JSON.parse(fs.readFileSync(cache, 'utf8')).entries;
  entries.f[4] = sha256('forged');
  fs.writeFileSync(cache, JSON.stringify({ format: 2, entries }));
  assert.equal(new FileHasher(root, cache).hashFile('f')!.hash, sha256('forged'), 'trusted entries are not re-read (that is the point of the cache)');
  fs.rmSync(root, { recursive: true });
});

test('a corrupt stat cache is reported in one line and rebuilt', () => {
  const root = tmp();
  const cache = statCachePath(root);
  fs.mkdirSync(path.dirname(cache));
  fs.writeFileSync(cache, '{"format":1,"entries":{"f":[1,2');
  fs.writeFileSync(path.join(root, 'f'), 'x');
  const h = new FileHasher(root, cache);
  assert.match(h.warning!, /^stat cache \.sbuild\/stat-cache\.json was corrupt; rebuilt it/);
  assert.equal(h.hashFile('f')!.hash, sha256('x'));
  h.save();
  assert.doesNotThrow(() => JSON.parse(fs.readFileSync(cache, 'utf8')));
  fs.rmSync(root, { recursive: true });
});

test('tree hashes depend on relative paths and contents, not on where the folder lives', () => {
  const root = tmp();
  for (const d of ['a', 'b']) {
    fs.mkdirSync(path.join(root, d, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(root, d, 'sub', 'x'), '1');
    fs.writeFileSync(path.join(root, d, 'y'), '2');
  }
  const h = new FileHasher(root, path.join(root, '.sbuild', 'sc.json'));
  const a = h.hashTree('a')!;
  assert.equal(a.hash, h.hashTree('b')!.hash);
  assert.equal(a.files, 2);
  assert.equal(a.size, 2);
  fs.renameSync(path.join(root, 'b', 'y'), path.join(root, 'b', 'z'));
  h.forget('b');
  assert.notEqual(a.hash, h.hashTree('b')!.hash);
  fs.rmSync(root, { recursive: true });
});

test('forget drops a path and everything below it (entries read from the cache too), and nothing beside it', () => {
  const root = tmp();
  const cache = path.join(root, '.sbuild', 'sc.json');
  const files = ['d/sub/deep/x', 'd/y', 'dd/z', 'd.txt', 'e/f'];
  for (const f of files) {
    fs.mkdirSync(path.join(root, path.dirname(f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), f);
  }
  const h = new FileHasher(root, cache);
  for (const f of files) h.hashFile(f);
  h.save();
  const saved = () => Object.keys(JSON.parse(fs.readFileSync(cache, 'utf8')).entries).sort();
  assert.deepEqual(saved(), [...files].sort());
  // Loaded from the cache file: forget must reach those entries as well.
  const h2 = new FileHasher(root, cache);
  h2.forget('d');
  h2.save();
  assert.deepEqual(saved(), ['d.txt', 'dd/z', 'e/f']);
  // Remembered again after a forget, and forgotten again from one level down.
  h2.hashFile('d/sub/deep/x');
  h2.hashFile('d/y');
  h2.forget('d/sub');
  h2.save();
  assert.deepEqual(saved(), ['d.txt', 'd/y', 'dd/z', 'e/f']);
  // A rewritten file below a forgotten folder is read afresh (its stat is not reused).
  h2.hashFile('e/f');
  fs.writeFileSync(path.join(root, 'e', 'f'), 'other content');
  h2.forget('e');
  assert.equal(h2.hashFile('e/f')!.hash, sha256('other content'));
  fs.rmSync(root, { recursive: true });
});

test('a file deleted between its stat and its read (another build rebuilding it) is missing, not an error, and its stat is dropped', () => {
  const root = tmp();
  fs.writeFileSync(path.join(root, 'out.txt'), 'built');
  fs.mkdirSync(path.join(root, 'big'));
  fs.writeFileSync(path.join(root, 'big/ckpt.bin'), Buffer.alloc(70 * 1024 * 1024, 1));
  const h = new FileHasher(root, statCachePath(root));
  // Statted (as the planner does first), then removed before the read.
  assert.equal(h.kind('out.txt'), 'file');
  assert.equal(h.kind('big/ckpt.bin'), 'file');
  fs.rmSync(path.join(root, 'out.txt'));
  fs.rmSync(path.join(root, 'big/ckpt.bin'));
  assert.equal(h.hashFile('out.txt'), undefined);
  assert.equal(h.hashFile('big/ckpt.bin'), undefined, 'the streamed read of a large file too');
  assert.equal(h.kind('out.txt'), undefined, 'the stale stat was dropped');
  // Written again by its job (after which the engine forgets its stat): hashed as new.
  fs.writeFileSync(path.join(root, 'out.txt'), 'rebuilt');
  h.forget('out.txt');
  assert.equal(h.hashFile('out.txt')!.hash, sha256('rebuilt'));
  fs.rmSync(root, { recursive: true, force: true });
});
