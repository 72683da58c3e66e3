// Journals of builds side by side folded into sbuild.lock (engine/live-builds.ts): record by
// record, the later registration's record wins whichever build ends first, and a fold
// repeated after a kill -9 between its writes changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal, readLock, type LockEntry } from '../../src/engine/lockfile.js';
import { foldJournal, journalFile, readView, writeRegistration } from '../../src/engine/live-builds.js';
import { supersededPath } from '../../src/engine/state-paths.js';
import { sha256 } from '../../src/hashing/sha256.js';

const entry = (name: string, by: string): LockEntry => ({
  fingerprint: sha256(`${name} by ${by}`),
  action: `sh: ${name}`,
  params: {},
  env: {},
  inputs: {},
  outputs: {},
});

/** A workspace where build D (registered first) and build B (second) both recorded x; D also y. */
function twoBuilds(): { root: string; fp: (n: string) => string | undefined } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-live-'));
  // Holders that are not alive here (another host): their journals are only read and folded.
  const reg = (id: string, seq: number) => writeRegistration(root, { id, holder: { pid: 1, host: 'elsewhere', since: '' }, seq, command: 'sbuild', claims: [], reads: [] });
  reg('1-d0', 1);
  reg('2-b0', 2);
  const d = new Journal(journalFile(root, '1-d0'));
  d.record('x', entry('x', 'D'));
  d.record('y', entry('y', 'D'));
  d.close(false);
  const b = new Journal(journalFile(root, '2-b0'));
  b.record('x', entry('x', 'B'));
  b.close(false);
  return { root, fp: (n) => readLock(root).entries.get(n)?.fingerprint };
}

test('the later registration\'s record wins, whichever build folds first', () => {
  for (const order of [['2-b0', '1-d0'], ['1-d0', '2-b0']]) {
    const { root, fp } = twoBuilds();
    assert.equal(readView(root).entries.get('x')!.fingerprint, sha256('x by B'), 'the view, before any fold');
    for (const id of order) foldJournal(root, id, id === '1-d0' ? 1 : 2);
    assert.equal(fp('x'), sha256('x by B'), `folded ${order.join(' then ')}`);
    assert.equal(fp('y'), sha256('y by D'));
    assert.ok(!fs.existsSync(journalFile(root, '1-d0')) && !fs.existsSync(journalFile(root, '2-b0')));
    assert.ok(!fs.existsSync(supersededPath(root)), 'no superseded list left');
    fs.rmSync(root, { recursive: true });
  }
});

test('a fold killed after writing the lock, before its journal went, is folded again to the same lock', () => {
  const { root, fp } = twoBuilds();
  foldJournal(root, '2-b0', 2);
  assert.deepEqual(JSON.parse(fs.readFileSync(supersededPath(root), 'utf8')), { '1-d0': ['x'] });
  // D's fold as a kill -9 leaves it after the lock was written: its journal and its own
  // superseded list still there (they go after the lock, in that order).
  const journal = fs.readFileSync(journalFile(root, '1-d0'));
  const superseded = fs.readFileSync(supersededPath(root));
  foldJournal(root, '1-d0', 1);
  fs.writeFileSync(journalFile(root, '1-d0'), journal);
  fs.writeFileSync(supersededPath(root), superseded);
  assert.equal(readView(root).entries.get('x')!.fingerprint, sha256('x by B'), 'the view skips the superseded record');
  foldJournal(root, '1-d0', 1);
  assert.equal(fp('x'), sha256('x by B'), 'the older record never comes back');
  assert.equal(fp('y'), sha256('y by D'));
  fs.rmSync(root, { recursive: true });
});
