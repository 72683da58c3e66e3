// The remote cache against a real nginx on 127.0.0.1 (WebDAV PUT): CI uploads, a clean
// clone rebuilds nothing, tampered blobs are rejected, an unreachable server is a warning,
// credentials come from the environment and are never printed; push / pull move checkpoints;
// tampered action entries (remote or local) are refused and nothing is written outside.
import { test, after, before } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Rig, sh, useRigs } from '../helpers/rig.js';
import { NGINX, startNginx, type Nginx } from '../helpers/nginx.js';

const rig = useRigs();
let server: Nginx;
const TOKEN = 's3cr3t-token-value';
/** Debian's nginx serves the cache; without it the tests that talk to it skip, saying why. */
const noNginx = NGINX ? false : 'nginx is not installed (apt-get install -y nginx)';
before(async () => {
  if (noNginx) return;
  server = await startNginx({ token: TOKEN });
});
after(async () => {
  await server?.stop();
});

function workspace(): Rig {
  const r = rig();
  r.write('cfg.txt', 'lr=1\n');
  r.config(`{
    default: 'release',
    remoteCache: { url: ${JSON.stringify(server.url)}, tokenEnv: 'CACHE_TOKEN' },
    targets: [
      { name: 'train', inputs: ['cfg.txt'], outputs: ['work/model.ckpt'], run: ${JSON.stringify(sh('train', 'head -c 300000 /dev/urandom > work/model.ckpt; cat cfg.txt >> work/model.ckpt'))} },
      { name: 'vis', inputs: ['work/model.ckpt'], outputs: ['work/vis'], run: ${JSON.stringify(sh('vis', 'mkdir -p work/vis/a; sha256sum work/model.ckpt > work/vis/a/x.txt'))} },
      { name: 'metrics', inputs: ['work/model.ckpt'], outputs: ['work/metrics.json'], run: ${JSON.stringify(sh('metrics', 'sha256sum work/model.ckpt | cut -c1-8 > work/metrics.json'))} },
      { name: 'release', deps: ['metrics', 'vis'] },
    ],
  }`);
  return r;
}

/** A clean clone: the config, the sources and sbuild.lock (as git would carry them), nothing else. */
function cloneOf(r: Rig, name?: string): Rig {
  const c = rig(name);
  for (const f of ['tasks.config.ts', 'cfg.txt', 'sbuild.lock']) c.write(f, r.read(f));
  return c;
}

const env = { CACHE_TOKEN: TOKEN };

/** A workspace built with `cfg` and uploaded to the server; its runs taken, its lock read. */
function uploaded(cfg: string): { ci: Rig; lock: { targets: Record<'train' | 'vis' | 'metrics', { fingerprint: string; outputs: Record<string, { hash: string; size: number }> }> } } {
  const ci = workspace();
  ci.write('cfg.txt', cfg);
  assert.equal(ci.run(['--remote-upload'], env).code, 0);
  ci.takeRuns();
  return { ci, lock: JSON.parse(ci.read('sbuild.lock')) };
}

test('CI uploads; a clean clone with the remote cache runs nothing and gets byte-identical outputs', { skip: noNginx }, () => {
  const ci = workspace();
  const res = ci.run(['--remote-upload'], env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(ci.takeRuns(), ['metrics', 'train', 'vis']);
  assert.ok(!res.stdout.includes(TOKEN) && !res.stderr.includes(TOKEN), 'the token is never printed');
  assert.ok(fs.readdirSync(path.join(server.dataDir, 'ac')).length >= 3);
  const clone = cloneOf(ci);
  const cres = clone.run([], env);
  assert.equal(cres.code, 0, cres.stdout + cres.stderr);
  assert.deepEqual(clone.takeRuns(), [], 'nothing ran');
  assert.match(cres.stdout, /↺ metrics restored from cache/);
  for (const f of ['work/metrics.json', 'work/vis/a/x.txt']) assert.equal(clone.read(f), ci.read(f), f);
  for (const f of fs.readdirSync(ci.path('.sbuild/logs'), { recursive: true }) as string[]) {
    const p = ci.path(path.join('.sbuild/logs', f));
    if (fs.statSync(p).isFile()) assert.ok(!fs.readFileSync(p, 'utf8').includes(TOKEN));
  }
  // The checkpoint is an intermediate nothing needed: it stays on the server until pulled.
  assert.ok(!clone.exists('work/model.ckpt'));
  const pulled = clone.run(['pull', 'train'], env);
  assert.equal(pulled.code, 0, pulled.stdout + pulled.stderr);
  assert.match(pulled.stdout, /pulled 1 target\(s\)/);
  assert.ok(fs.readFileSync(clone.path('work/model.ckpt')).equals(fs.readFileSync(ci.path('work/model.ckpt'))));
  assert.equal(clone.run(['status', '--exit-code'], env).code, 0);
});

test('without credentials the server refuses: one warning, then a local build', { skip: noNginx }, () => {
  const ci = workspace();
  const res = ci.run(['--remote-upload'], {});
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /warning: remoteCache\.tokenEnv names CACHE_TOKEN, which is not set/);
  assert.equal(res.stdout.match(/warning: remote cache .* failed \(HTTP 401\); continuing without it/g)?.length, 1);
  assert.deepEqual(ci.takeRuns(), ['metrics', 'train', 'vis']);
});

test('an unreachable server gives one warning and a local build', { skip: noNginx }, () => {
  const r = workspace();
  const res = r.run(['--remote-cache', 'http://127.0.0.1:9'], env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(res.stdout.match(/warning: remote cache http:\/\/127\.0\.0\.1:9 GET ac failed \(.*\); continuing without it/g)?.length, 1);
  assert.deepEqual(r.takeRuns(), ['metrics', 'train', 'vis']);
});

test('a tampered blob on the server is rejected and the target is rebuilt', { skip: noNginx }, () => {
  const { ci, lock } = uploaded('lr=tamper\n');
  // The checkpoint is a blob; small outputs travel inside their entries (checked with them).
  const ckptHash: string = lock.targets.train.outputs['work/model.ckpt']!.hash;
  const ckpt = path.join(server.dataDir, 'cas', ckptHash);
  fs.writeFileSync(ckpt, Buffer.alloc(fs.statSync(ckpt).size, 0x41));
  const clone = cloneOf(ci);
  const res = clone.run(['train'], env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, new RegExp(`warning: remote cache blob ${ckptHash.slice(0, 12)} was rejected: its content hashes to [0-9a-f]{12}`));
  assert.deepEqual(clone.takeRuns(), ['train'], 'rebuilt rather than trusting the forged blob');
  assert.ok(!fs.readFileSync(clone.path('work/model.ckpt')).equals(fs.readFileSync(ckpt)));
});

test('a remote entry whose inline bytes were changed is refused; the target is built here', { skip: noNginx }, () => {
  const { ci, lock } = uploaded('lr=inline\n');
  const entry = path.join(server.dataDir, 'ac', lock.targets.metrics.fingerprint);
  const e = JSON.parse(fs.readFileSync(entry, 'utf8')) as { outputs: Record<string, { size: number; data?: string }> };
  const m = e.outputs['work/metrics.json']!;
  assert.equal(Buffer.from(m.data!, 'base64').toString(), ci.read('work/metrics.json'), 'uploaded inside its entry');
  m.data = Buffer.from('forged!\n').toString('base64');
  fs.writeFileSync(entry, JSON.stringify(e));
  const clone = cloneOf(ci);
  const res = clone.run(['metrics'], env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, new RegExp(`^warning: remote cache entry [0-9a-f]{12} for 'metrics' was refused: its inline copy of 'work/metrics\\.json' is not the ${m.size} bytes its hash [0-9a-f]{12} names; not using it$`, 'm'));
  assert.deepEqual(clone.takeRuns(), ['metrics'], 'train restored; metrics built here');
  assert.equal(clone.read('work/metrics.json'), ci.read('work/metrics.json'));
});

test('push uploads checkpoints built elsewhere; pull on another machine brings them', { skip: noNginx }, () => {
  const a = workspace();
  a.write('cfg.txt', 'lr=push\n');
  assert.equal(a.run([], env).code, 0); // read-only: nothing uploaded
  a.takeRuns();
  const b = cloneOf(a);
  const before = b.run(['pull'], env);
  assert.equal(before.code, 1);
  assert.match(before.stdout, /not on the server: train, vis, metrics|not on the server: /);
  const pushed = a.run(['push'], env);
  assert.equal(pushed.code, 0, pushed.stdout + pushed.stderr);
  assert.match(pushed.stdout, /pushed 3 target\(s\)/);
  const got = b.run(['pull'], env);
  assert.equal(got.code, 0, got.stdout + got.stderr);
  assert.ok(fs.readFileSync(b.path('work/model.ckpt')).equals(fs.readFileSync(a.path('work/model.ckpt'))));
  assert.equal(b.read('work/vis/a/x.txt'), a.read('work/vis/a/x.txt'));
  b.run([], env);
  assert.deepEqual(b.takeRuns(), []);
});

// ---------------------------------------------------------------------------------------------
// Tampered action entries. An entry names the files sbuild writes and their modes: a bad one is
// refused with one warning, the target is built here, and nothing is written outside it.

type Entry = { outputs: Record<string, { kind: string; hash: string; size: number; mode?: number; files?: Record<string, { hash: string; size: number; mode: number }> }> };

/** A folder's tree hash from its file list, as sbuild computes it from disk. */
function treeHash(files: Record<string, { hash: string }>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(files).sort()) h.update(`${name}\0${files[name]!.hash}\n`);
  return h.digest('hex');
}

function editJson(file: string, edit: (e: Entry) => void): void {
  const e = JSON.parse(fs.readFileSync(file, 'utf8')) as Entry;
  edit(e);
  fs.writeFileSync(file, JSON.stringify(e));
}

/** The three tamperings: names leaving the folder (tree hash kept consistent), a tree hash that lies, a setuid mode. */
function tamperings(top: string, blob: { hash: string; size: number }): Array<[string, (e: Entry) => void, RegExp]> {
  const vis = (e: Entry) => e.outputs['work/vis']!;
  return [
    ['escaping names', (e) => {
      const files = vis(e).files!;
      files['../../../escaped.txt'] = { ...blob, mode: 0o100755 };
      files[path.join(top, 'abs-escaped.txt')] = { ...blob, mode: 0o100755 };
      vis(e).hash = treeHash(files);
    }, /the folder 'work\/vis' lists the file '(\.\.\/\.\.\/\.\.\/escaped\.txt|\/[^']*abs-escaped\.txt)', which leaves the folder or is not a plain relative path/],
    ['a tree hash that does not match its files', (e) => {
      vis(e).files!['a/x.txt'] = { ...blob, mode: 0o100644 };
    }, /the tree hash of 'work\/vis' \([0-9a-f]{12}\) is not that of its file list \([0-9a-f]{12}\)/],
    ['a setuid mode', (e) => {
      vis(e).files!['a/x.txt']!.mode = 0o104755;
    }, /it gives 'work\/vis\/a\/x\.txt' the mode 0o104755, which is more than permission bits/],
  ];
}

function nothingOutside(c: Rig): void {
  const top = path.dirname(c.dir);
  assert.deepEqual(fs.readdirSync(top).sort(), ['node_modules', 'ws'], 'nothing written outside the workspace');
  assert.deepEqual(fs.readdirSync(c.path('work/vis'), { recursive: true }).map(String).sort(), ['a', 'a/x.txt'], 'nothing but the folder\'s own files');
  assert.equal(fs.statSync(c.path('work/vis/a/x.txt')).mode & 0o7000, 0, 'no setuid, setgid or sticky bit');
}

for (const [i, what] of ['escaping names', 'a tree hash that does not match its files', 'a setuid mode'].entries()) {
  test(`a remote entry with ${what} is refused with one warning; the target is built here, nothing written outside`, { skip: noNginx }, () => {
    const { ci, lock } = uploaded(`lr=poison-${i}\n`);
    const metrics = lock.targets.metrics.outputs['work/metrics.json']!;
    const clone = cloneOf(ci, 'ws');
    const [, tamper, why] = tamperings(path.dirname(clone.dir), metrics)[i]!;
    editJson(path.join(server.dataDir, 'ac', lock.targets.vis.fingerprint), tamper);
    const res = clone.run([], env);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const warnings = res.stdout.match(/^warning: .*$/gm) ?? [];
    assert.equal(warnings.length, 1, res.stdout);
    assert.match(warnings[0]!, new RegExp(`^warning: remote cache entry [0-9a-f]{12} for 'vis' was refused: ${why.source}; not using it$`));
    assert.deepEqual(clone.takeRuns(), ['vis'], 'vis built here; train and metrics restored');
    assert.match(res.stdout, /↺ metrics restored from cache/);
    assert.equal(clone.read('work/vis/a/x.txt'), ci.read('work/vis/a/x.txt'));
    nothingOutside(clone);
  });
}

test('a tampered local action entry is refused the same way', { skip: noNginx }, () => {
  const r = rig('ws');
  const w = workspace();
  for (const f of ['tasks.config.ts', 'cfg.txt']) r.write(f, w.read(f));
  r.write('cfg.txt', 'lr=local-poison\n');
  assert.equal(r.run([], env).code, 0);
  r.takeRuns();
  const lock = JSON.parse(r.read('sbuild.lock'));
  const entry = r.path(`.sbuild/cache/ac/${lock.targets.vis.fingerprint}.json`);
  for (const [what, tamper, why] of tamperings(path.dirname(r.dir), lock.targets.metrics.outputs['work/metrics.json'])) {
    editJson(entry, tamper);
    fs.rmSync(r.path('work/vis'), { recursive: true });
    const res = r.run(['vis'], env);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const warnings = res.stdout.match(/^warning: .*$/gm) ?? [];
    assert.equal(warnings.length, 1, `${what}: ${res.stdout}`);
    assert.match(warnings[0]!, new RegExp(`^warning: cache entry [0-9a-f]{12} was refused \\(${why.source}\\); deleted it$`), what);
    assert.deepEqual(r.takeRuns(), ['vis'], what);
    nothingOutside(r);
    assert.ok(fs.existsSync(entry), 'stored again after the local build');
  }
});
