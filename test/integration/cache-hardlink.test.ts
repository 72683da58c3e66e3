// `localCache: { mode: 'hardlink' }`: a checkpoint and its cache blob are one file on disk
// (the workspace plus the cache take about 1× its size, where copies take 2×), cached
// outputs are read-only so that an in-place write fails instead of corrupting the cache,
// restores are links again, and `gc` says that removing a linked blob frees nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { useRigs, type Rig } from '../helpers/rig.js';

const rig = useRigs();
const SIZE = 4 * 1024 * 1024;

function workspace(mode: 'copy' | 'hardlink'): Rig {
  const r = rig();
  r.write('seed.txt', '7\n');
  // A 4 MiB "checkpoint" whose bytes follow the seed.
  const make = `node -e "const fs=require('fs');fs.mkdirSync('ckpt',{recursive:true});fs.writeFileSync('ckpt/model.pth',Buffer.alloc(${SIZE},Number(fs.readFileSync('seed.txt','utf8'))));fs.appendFileSync('runs.log','train\\\\n')"`;
  r.config(`{ localCache: { mode: '${mode}' }, targets: [{ name: 'train', inputs: ['seed.txt'], outputs: ['ckpt/model.pth'], run: ${JSON.stringify(make)} }] }`);
  return r;
}

/** Disk used by the whole workspace (output and cache; a hard-linked file is counted once), in bytes. */
const du = (r: Rig) => Number(spawnSync('du', ['-sk', r.dir], { encoding: 'utf8' }).stdout.split('\t')[0]) * 1024;
const blobOf = (r: Rig, file: string) => {
  const h = createHash('sha256').update(fs.readFileSync(r.path(file))).digest('hex');
  return r.path(path.join('.sbuild/cache/cas', h.slice(0, 2), h));
};

test('hardlink mode: output and cache are one file (about 1× its size on disk, copies take 2×); the output is read-only', () => {
  const copy = workspace('copy');
  assert.equal(copy.run(['train']).code, 0);
  const linked = workspace('hardlink');
  const res = linked.run(['train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const out = fs.statSync(linked.path('ckpt/model.pth'));
  const blob = fs.statSync(blobOf(linked, 'ckpt/model.pth'));
  assert.equal(out.ino, blob.ino);
  assert.equal(out.nlink, 2);
  assert.equal(out.mode & 0o222, 0, 'no write bit');
  assert.ok(du(linked) < 1.3 * SIZE, `hardlink: ${du(linked)} bytes for a ${SIZE}-byte checkpoint`);
  assert.ok(du(copy) > 1.9 * SIZE || fs.statSync(copy.path('ckpt/model.pth')).ino !== fs.statSync(blobOf(copy, 'ckpt/model.pth')).ino, 'copy mode keeps a second copy');
  // Nothing moved that sbuild did not do itself: fresh at once, no rehash of a moved stat.
  assert.equal(linked.run(['train']).code, 0);
  assert.deepEqual(linked.takeRuns(), ['train']);
  assert.match(linked.run(['train']).stdout, /0 ran, 1 fresh/);
});

test('hardlink mode: an in-place write to a cached output fails and the cache stays intact', () => {
  const r = workspace('hardlink');
  assert.equal(r.run(['train']).code, 0);
  const file = r.path('ckpt/model.pth');
  const blob = blobOf(r, 'ckpt/model.pth');
  if (process.getuid?.() === 0) {
    // root ignores permission bits: the write is tried as the file's (unprivileged) owner,
    // who can reach it (the temp folders are private), so only the file's own mode stops it.
    fs.chownSync(file, 65534, 65534);
    for (let d = path.dirname(file); d.startsWith(os.tmpdir() + path.sep); d = path.dirname(d)) fs.chmodSync(d, fs.statSync(d).mode | 0o111);
  }
  const append = process.getuid?.() === 0
    ? (spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', `echo corrupt >> '${file}'`], { encoding: 'utf8' }))
    : spawnSync('sh', ['-c', `echo corrupt >> '${file}'`], { encoding: 'utf8' });
  assert.notEqual(append.status, 0, 'the write was refused');
  assert.match(append.stderr, /Permission denied/);
  assert.equal(fs.statSync(file).size, SIZE);
  assert.equal(createHash('sha256').update(fs.readFileSync(blob)).digest('hex'), path.basename(blob));
});

test('hardlink mode: a restore is a read-only link to the blob; gc says a linked blob frees nothing', () => {
  const r = workspace('hardlink');
  assert.equal(r.run(['train']).code, 0);
  r.write('seed.txt', '8\n');
  assert.equal(r.run(['train']).code, 0);
  r.write('seed.txt', '7\n');
  const res = r.run(['train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['train', 'train'], 'the revert was restored, not run');
  const out = fs.statSync(r.path('ckpt/model.pth'));
  assert.equal(out.ino, fs.statSync(blobOf(r, 'ckpt/model.pth')).ino);
  assert.equal(out.mode & 0o222, 0);
  assert.equal(fs.readFileSync(r.path('ckpt/model.pth'))[0], 7);

  const gc = r.run(['gc', '--max-size', '0']);
  assert.equal(gc.code, 0, gc.stderr);
  // Two blobs of 4 MiB: the one the workspace links frees nothing, the other (seed 8) its size.
  assert.match(gc.stdout, /removed 2 blob\(s\) and 2 action result\(s\), freeing 4\.0 MB on disk \(4\.0 MB of them are still hard-linked from the workspace\)/);
  assert.equal(fs.statSync(r.path('ckpt/model.pth')).nlink, 1);
  assert.match(r.run(['train']).stdout, /0 ran, 1 fresh/);
});

test("a bad localCache is refused with the fix, exit 2", () => {
  const r = rig();
  r.config(`{ localCache: { mode: 'symlink' }, targets: [] }`);
  const res = r.run(['-n']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /The config's `localCache` must be \{ mode: 'copy' \} \(the default: copy-on-write clones where the file system has them, else copies\) or \{ mode: 'hardlink' \}/);
});

test('hardlink mode: a blob changed in place through another link is never linked over good bytes', () => {
  const r = workspace('hardlink');
  assert.equal(r.run(['train']).code, 0);
  const blob = blobOf(r, 'ckpt/model.pth');
  // Root ignores the read-only bits: the shared file (and so the blob) is changed in place.
  fs.chmodSync(r.path('ckpt/model.pth'), 0o644);
  fs.writeFileSync(r.path('ckpt/model.pth'), Buffer.alloc(SIZE, 9));
  // A forced rerun writes the right bytes again; storing them must not link them to the bad blob.
  const res = r.run(['-B', 'train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(fs.readFileSync(r.path('ckpt/model.pth'))[0], 7);
  assert.equal(createHash('sha256').update(fs.readFileSync(blob)).digest('hex'), path.basename(blob));
  assert.equal(fs.statSync(r.path('ckpt/model.pth')).ino, fs.statSync(blob).ino);
  assert.match(r.run(['train']).stdout, /0 ran, 1 fresh/);
});
