import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readLock, writeLock, serializeLock, Journal, journalPath, type LockEntry } from '../../src/engine/lockfile.js';
import { sha256, type Sha256 } from '../../src/hashing/sha256.js';

const entry = (n: string): LockEntry => ({
  fingerprint: sha256(n),
  action: `sh: ${n}`,
  params: { z: 1, a: [2, { y: 1, b: 2 }] },
  env: {},
  inputs: { 'b.txt': sha256('b'), 'a.txt': sha256('a') },
  outputs: { [`o/${n}`]: { hash: sha256(`o${n}`) as Sha256, size: 2 } },
});

test('serialization is sorted and independent of insertion order', () => {
  const a = new Map([['x', entry('x')], ['a', entry('a')]]);
  const b = new Map([['a', entry('a')], ['x', entry('x')]]);
  assert.equal(serializeLock(a), serializeLock(b));
  const text = serializeLock(a);
  assert.ok(text.indexOf('"a.txt"') < text.indexOf('"b.txt"'));
  assert.ok(text.indexOf('"a": {') < text.indexOf('"x": {'));
});

test('a corrupt lock is reported, ignored and rewritten; the journal of a crashed build is replayed', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-lock-'));
  fs.writeFileSync(path.join(root, 'sbuild.lock'), '{"format":1,"targets":{"a":{"finger');
  const lock = readLock(root);
  assert.equal(lock.entries.size, 0);
  assert.match(lock.warnings[0]!, /sbuild\.lock is corrupt/);
  lock.entries.set('a', entry('a'));
  writeLock(root, lock);
  assert.equal(readLock(root).entries.get('a')!.fingerprint, sha256('a'));
  // A build that recorded 'b' and then died (with a torn last line) still keeps 'b'.
  const j = new Journal(journalPath(root));
  j.record('b', entry('b'));
  j.record('a', null);
  j.close(false);
  fs.appendFileSync(journalPath(root), '{"name":"c","entry":{"fing');
  const replayed = readLock(root);
  assert.deepEqual([...replayed.entries.keys()].sort(), ['b']);
  assert.match(replayed.warnings[0]!, /recovered 2 finished target\(s\)/);
  fs.rmSync(root, { recursive: true });
});
