import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readLock, writeLock, serializeLock, Journal, journalPath, type LockEntry } from '../../src/engine/lockfile.js';
import { sha256, type Sha256 } from '../../src/hashing/sha256.js';
import { LockEntries } from '../../src/engine/lock-entries.js';

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

// The names a lock must carry through its cut into entries (lock-entries.ts) unchanged.
const oddNames = ['a', '10', '9', 'exp/0/train', 'q"uote', 'x": {', 'tab\there', 'ünï/cödé', '__proto__', 'z{}', 'line\\nbreak'];

/** What serializeLock must print: JSON.stringify of the whole lock, maps sorted. */
function reference(entries: Map<string, LockEntry>): string {
  const targets: Record<string, unknown> = {};
  for (const n of [...entries.keys()].sort()) {
    const e = entries.get(n)!;
    const sort = (o: unknown): unknown => Array.isArray(o) ? o.map(sort) : o && typeof o === 'object' ? Object.fromEntries(Object.keys(o).sort().map((k) => [k, sort((o as Record<string, unknown>)[k])])) : o;
    Object.defineProperty(targets, n, { value: { fingerprint: e.fingerprint, action: e.action, params: sort(e.params), env: sort(e.env), inputs: sort(e.inputs), outputs: sort(e.outputs) }, enumerable: true });
  }
  return JSON.stringify({ format: 1, fingerprintFormat: 1, targets }, null, 2) + '\n';
}

test('the lock is printed as JSON.stringify prints it, for any target name, and an empty lock too', () => {
  const m = new Map(oddNames.map((n) => [n, entry(n)]));
  assert.equal(serializeLock(m), reference(m));
  assert.equal(serializeLock(new Map()), reference(new Map()));
  assert.deepEqual(Object.keys(JSON.parse(serializeLock(m)).targets).sort(), [...oddNames].sort());
});

test('a lock in the written layout is read entry by entry: the same entries, written back byte for byte', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-lock-'));
  const m = new Map(oddNames.map((n) => [n, entry(n)]));
  const lock = readLock(root);
  for (const [n, e] of m) lock.entries.set(n, e);
  lock.dirty = true;
  writeLock(root, lock);
  const text = fs.readFileSync(path.join(root, 'sbuild.lock'), 'utf8');
  // Nothing asked for: written back as read, without parsing an entry.
  const again = readLock(root);
  assert.ok(again.entries instanceof LockEntries && oddNames.every((n) => (again.entries as LockEntries).rawText(n) !== undefined));
  assert.equal(serializeLock(again.entries), text);
  // Each entry is what parsing the whole file gives.
  const whole = JSON.parse(text).targets as Record<string, LockEntry>;
  for (const n of oddNames) assert.deepEqual(again.entries.get(n), whole[n], n);
  assert.equal(again.entries.has('absent'), false);
  // Written back from its text, an entry changed in place would be lost: that throws instead.
  assert.throws(() => { (again.entries.get('a')!.inputs as Record<string, string>)['c.txt'] = sha256('c'); }, TypeError);
  assert.equal(serializeLock(again.entries), text);
  // One entry changed, one removed, one added: the same text as printing every entry anew.
  const changed = readLock(root);
  changed.entries.set('a', { ...entry('a'), fingerprint: sha256('a2') });
  changed.entries.delete('q"uote');
  changed.entries.set('new', entry('new'));
  const expect = new Map(m);
  expect.set('a', { ...entry('a'), fingerprint: sha256('a2') });
  expect.delete('q"uote');
  expect.set('new', entry('new'));
  assert.equal(serializeLock(changed.entries), reference(expect));
  assert.deepEqual([...changed.entries.keys()].sort(), [...expect.keys()].sort());
  assert.equal(changed.entries.size, expect.size);
  assert.deepEqual(readLock(root).warnings, []);
  fs.rmSync(root, { recursive: true });
});

test('one corrupt entry in the written layout counts as absent, is said, and is dropped when the lock is written', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-lock-'));
  const lock = readLock(root);
  for (const n of ['a', 'b', 'c']) lock.entries.set(n, entry(n));
  lock.dirty = true;
  writeLock(root, lock);
  const file = path.join(root, 'sbuild.lock');
  // A hand edit that leaves the layout but not the entry: b's fingerprint cut short.
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(`"fingerprint": "${sha256('b')}"`, '"fingerprint": "abc"'));
  const read = readLock(root);
  assert.equal(read.entries.get('b'), undefined);
  assert.equal(read.entries.get('a')!.fingerprint, sha256('a'));
  assert.deepEqual(read.warnings, ["sbuild.lock's entry for 'b' is corrupt; ignoring it ('b' is checked as never built, and the lock is rewritten without it)"]);
  writeLock(root, read);
  assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).targets), ['a', 'c']);
  fs.rmSync(root, { recursive: true });
});

test('a lock in another layout is parsed whole; merge-conflict markers make it corrupt as a whole', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-lock-'));
  const file = path.join(root, 'sbuild.lock');
  const m = new Map([['a', entry('a')], ['b', entry('b')]]);
  const text = serializeLock(m);
  fs.writeFileSync(file, JSON.stringify(JSON.parse(text)));
  const compact = readLock(root);
  assert.deepEqual(compact.warnings, []);
  assert.deepEqual(compact.entries.get('b'), JSON.parse(text).targets.b);
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.includes('"inputs"'));
  lines.splice(at, 0, '<<<<<<< HEAD', '=======', '>>>>>>> theirs');
  fs.writeFileSync(file, lines.join('\n'));
  const conflicted = readLock(root);
  assert.equal(conflicted.entries.size, 0);
  assert.match(conflicted.warnings[0]!, /sbuild\.lock is corrupt/);
  fs.rmSync(root, { recursive: true });
});
