// What a config's own code asks the system while it loads (config/load-observer.ts): recorded
// through every form of node:fs a config may use, kept at the strongest look, and compared
// later by what that look saw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import childProcess, { exec, execSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { recordConfigReads, noteConfigReads, ownProcess } from '../../src/config/reads.js';
import { observe, observeConfigLoad, type LoadObservation } from '../../src/config/load-observer.js';

function tmp(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-reads-')));
  fs.mkdirSync(path.join(dir, 'exps'));
  fs.writeFileSync(path.join(dir, 'exps', 'a.txt'), 'A');
  fs.writeFileSync(path.join(dir, 'title.txt'), 'T');
  return dir;
}

test('every form of node:fs a config may use is recorded, with the strongest look at each path, and the processes it starts', async () => {
  const dir = tmp();
  const at = (rel: string) => path.join(dir, rel);
  const originals = [fs.readFileSync, fs.readdirSync, fs.existsSync, fs.statSync, fs.openSync, fsp.readFile, fsp.readdir, childProcess.execSync, childProcess.execFile];
  const noted = new Set<string>();
  const o: LoadObservation = { seen: new Map(), started: [] };
  const seen = o.seen;
  await observeConfigLoad(o, () => recordConfigReads(noted, async () => {
    fs.existsSync(at('title.txt'));
    fs.readFileSync(at('title.txt'));
    fs.readdirSync(at('exps'));
    fs.statSync(at('exps/a.txt'));
    fs.existsSync(at('missing.txt'));
    await fsp.readFile(at('exps/a.txt'));
    await new Promise<void>((res) => fs.readdir(at('exps'), () => res()));
    await fsp.readdir(new URL(`file://${at('exps')}`));
    // Opened to write: something the config makes, not something it read.
    fs.closeSync(fs.openSync(at('written.txt'), 'w'));
    fs.closeSync(fs.openSync(at('opened.txt'), 'w'));
    fs.closeSync(fs.openSync(at('opened.txt'), 'r'));
    noteConfigReads([at('noted.py')]);
    // A process the config starts is named once (exec starts execFile itself); a rule's own,
    // whose reads it notes, is not.
    execSync('echo one');
    ownProcess(() => spawnSync('echo', ['two']));
    await new Promise<void>((res) => exec('echo three', () => res()));
  }));
  assert.deepEqual(Object.fromEntries([...seen].filter(([p]) => p.startsWith(dir + '/')).map(([p, h]) => [path.relative(dir, p), h]).sort()), {
    'exps': 'list',
    'exps/a.txt': 'read',
    'missing.txt': 'exists',
    'opened.txt': 'read',
    'title.txt': 'read',
  });
  assert.deepEqual([...noted], [at('noted.py')]);
  assert.deepEqual(o.started, ['echo one', 'echo three']);
  // node:fs and node:child_process are as they were once the recording ends, and nothing is recorded any more.
  assert.deepEqual([fs.readFileSync, fs.readdirSync, fs.existsSync, fs.statSync, fs.openSync, fsp.readFile, fsp.readdir, childProcess.execSync, childProcess.execFile], originals);
  const after = seen.size;
  fs.readFileSync(at('title.txt'));
  assert.equal(seen.size, after);
});

test('a recording inside another is seen by both, and a recording that throws still ends', async () => {
  const dir = tmp();
  const outer: LoadObservation = { seen: new Map(), started: [] };
  const inner: LoadObservation = { seen: new Map(), started: [] };
  await assert.rejects(
    observeConfigLoad(outer, async () => {
      await observeConfigLoad(inner, async () => {
        fs.readdirSync(path.join(dir, 'exps'));
      });
      fs.existsSync(path.join(dir, 'title.txt'));
      throw new Error('config failed');
    }),
    /config failed/,
  );
  assert.deepEqual([...inner.seen.values()], ['list']);
  assert.deepEqual([...outer.seen.values()].sort(), ['exists', 'list']);
  const size = outer.seen.size;
  fs.readdirSync(dir);
  assert.equal(outer.seen.size, size);
});

test('what each look saw changes only when what that look would see changes', () => {
  const dir = tmp();
  const at = (rel: string) => path.join(dir, rel);
  const before = {
    list: observe(at('exps'), 'list'),
    read: observe(at('title.txt'), 'read'),
    exists: observe(at('title.txt'), 'exists'),
    missing: observe(at('missing.txt'), 'exists'),
  };
  // New bytes in a listed folder's file, new mtime on a read file: neither listing nor bytes change.
  fs.writeFileSync(at('exps/a.txt'), 'A2');
  const t = new Date(Date.now() + 5000);
  fs.utimesSync(at('title.txt'), t, t);
  assert.equal(observe(at('exps'), 'list'), before.list);
  assert.equal(observe(at('title.txt'), 'read'), before.read);
  // New bytes: the read changes, the existence does not.
  fs.writeFileSync(at('title.txt'), 'T2');
  assert.notEqual(observe(at('title.txt'), 'read'), before.read);
  assert.equal(observe(at('title.txt'), 'exists'), before.exists);
  // A file added to the folder, a probed file appearing.
  fs.writeFileSync(at('exps/b.txt'), 'B');
  fs.writeFileSync(at('missing.txt'), '');
  assert.notEqual(observe(at('exps'), 'list'), before.list);
  assert.equal(before.missing, '');
  assert.equal(observe(at('missing.txt'), 'exists'), 'file');
  // A folder noted as read (a Python config checked it exists) is seen to go.
  const folder = observe(at('exps'), 'read');
  fs.rmSync(at('exps'), { recursive: true });
  assert.notEqual(observe(at('exps'), 'read'), folder);
});
