// Publishing the demo's release bundle to real servers on 127.0.0.1 (an rclone WebDAV remote,
// nginx taking PUT with a bearer token) and fetching it into a fresh copy of the demo, which
// then runs no training: `sbuild publish`, `sbuild fetch`, their dry runs and their errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useClones } from '../helpers/clone.js';
import { REPO, sh, useRigs } from '../helpers/rig.js';
import { noRclone, startRcloneWebdav, type RcloneServer } from '../helpers/rclone.js';
import { NGINX, startNginx, type Nginx } from '../helpers/nginx.js';

const demoClone = useClones();
const rig = useRigs();
const VERSION = 'v0.1.0';
const BUNDLE = `artifacts/release/${VERSION}`;
const TOKEN = 'pub-token-6f1e2d';
const missing = noRclone || (NGINX ? false : 'nginx is not installed (apt-get install -y nginx)');

let rclone: RcloneServer;
let nginx: Nginx;
/** A copy of the demo with its release built: the publisher. */
let pub: string;

before(async () => {
  if (missing) return;
  rclone = await startRcloneWebdav('pub');
  nginx = await startNginx({ token: TOKEN });
  pub = demoClone();
  sbuild(pub, ['release']);
});
after(async () => {
  await rclone?.stop();
  await nginx?.stop();
});

const RC_DEST = `rclone:pub:sardet/${VERSION}`;

function run(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'sbuild.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', SARDET_ROOT: '', RCLONE_CONFIG: rclone.config, SBUILD_RELEASE_TOKEN: '', ...env },
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout + r.stderr, stdout: r.stdout };
}

function sbuild(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = run(dir, args, env);
  assert.equal(r.code, 0, `sbuild ${args.join(' ')}:\n${r.out}`);
  return r.out;
}

/** A clone at the published commit: the publisher's tracked files (sbuild.lock among them), nothing it built. */
function cloneOfPublisher(): string {
  const dir = demoClone();
  for (const f of spawnSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' }).stdout.split('\0').filter(Boolean)) {
    if (fs.existsSync(path.join(pub, f))) fs.copyFileSync(path.join(pub, f), path.join(dir, f));
  }
  return dir;
}

/** The files a publish sent, from its "sent NAME (" lines, sorted. */
function sent(out: string): string[] {
  return [...out.matchAll(/ sent (\S+) \(/g)].map((m) => m[1]!).sort();
}

/** Targets a build ran, from its --json event stream. */
function ran(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; name?: string })
    .filter((e) => e.type === 'start')
    .map((e) => e.name!)
    .sort();
}

/** rclone itself, on the test's remote (the server's view is changed through the server). */
function rcloneCmd(args: string[], input?: Buffer): void {
  const r = spawnSync('rclone', args, { encoding: 'utf8', env: { ...process.env, RCLONE_CONFIG: rclone.config }, ...(input ? { input } : {}) });
  assert.equal(r.status, 0, r.stderr);
}

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** name → SHA-256 of a folder's files. */
function tree(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((n) => [n, sha(path.join(dir, n))]));
}

function sums(dir: string): Map<string, string> {
  return new Map(fs.readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => [l.slice(66), l.slice(0, 64)] as [string, string]));
}

test('rclone: publish sends the bundle once, verified; a lost file is sent alone; a changed experiment sends only the files that changed', { skip: missing }, () => {
  const env = { SARDET_PUBLISH_TO: RC_DEST };
  const remoteDir = () => path.join(rclone.dataDir, 'sardet', VERSION);
  // The dry run asks the server (which holds nothing yet) and lists every transfer.
  const dry = sbuild(pub, ['publish', '-n'], env);
  const all = ['SHA256SUMS', 'manifest.json', 'metrics_jsons.zip', 'sardet_mini_checkpoints.zip', 'sardet_mini_logs.zip', 'sardet_mini_visualizations.zip'];
  for (const n of all) assert.ok(dry.includes(`  rclone copyto ${BUNDLE}/${n} pub:sardet/${VERSION}/${n}\n`), `${n}:\n${dry}`);
  assert.equal(fs.existsSync(remoteDir()), false, 'a dry run sends nothing');

  const first = sbuild(pub, ['publish'], env);
  assert.deepEqual(sent(first), all);
  assert.deepEqual(tree(remoteDir()), tree(path.join(pub, BUNDLE)));
  // rclone's own check agrees, byte for byte.
  rcloneCmd(['check', path.join(pub, BUNDLE), `pub:sardet/${VERSION}`, '--download']);
  const record = JSON.parse(fs.readFileSync(path.join(pub, `${BUNDLE}.published.json`), 'utf8'));
  assert.deepEqual(record.published.map((p: { to: string }) => p.to), [RC_DEST]);

  // Fresh: no contact at all; -B asks the server, which holds everything.
  assert.match(sbuild(pub, ['publish'], env), /^sbuild: 0 ran, /m);
  const again = sbuild(pub, ['publish', '-B'], env);
  assert.deepEqual(sent(again), []);
  assert.match(again, /holds all 6 files already; nothing sent/);

  // One file lost at the destination: it alone is sent again (then SHA256SUMS, last).
  rcloneCmd(['deletefile', `pub:sardet/${VERSION}/sardet_mini_logs.zip`]);
  assert.deepEqual(sent(sbuild(pub, ['publish', '-B'], env)), ['SHA256SUMS', 'sardet_mini_logs.zip']);
  assert.deepEqual(tree(remoteDir()), tree(path.join(pub, BUNDLE)));

  // A changed experiment: rebuilt, then exactly the files whose bytes changed are sent.
  const before = sums(path.join(pub, BUNDLE));
  const cfg = path.join(pub, 'configs/sardet_mini/cfar_os.py');
  const original = fs.readFileSync(cfg, 'utf8');
  assert.ok(original.includes("model = dict(type='OSCFAR')"));
  fs.writeFileSync(cfg, original.replace("model = dict(type='OSCFAR')", "model = dict(type='OSCFAR', guard=4)"));
  sbuild(pub, ['release']);
  const after = sums(path.join(pub, BUNDLE));
  const changed = [...after].filter(([n, h]) => before.get(n) !== h).map(([n]) => n);
  assert.ok(changed.includes('manifest.json') && changed.length > 1, `changed: ${changed.join(', ')}`);
  const dry2 = sbuild(pub, ['publish', '-n'], env);
  assert.match(dry2, new RegExp(`would send ${changed.length + 1} file\\(s\\)`));
  const third = sbuild(pub, ['publish'], env);
  assert.deepEqual(sent(third), [...changed, 'SHA256SUMS'].sort());
  assert.deepEqual(tree(remoteDir()), tree(path.join(pub, BUNDLE)));
  // Back to the published state for the fetch tests.
  fs.writeFileSync(cfg, original);
  sbuild(pub, ['release']);
  assert.deepEqual(sent(sbuild(pub, ['publish'], env)).length > 0, true);
  assert.deepEqual(tree(remoteDir()), tree(path.join(pub, BUNDLE)));
});

test('HTTP: publishing to nginx needs the bearer token (one clear error, exit 1, never printed); with it the files arrive', { skip: missing }, () => {
  const url = `${nginx.url}/sardet/${VERSION}/`;
  const env = { SARDET_PUBLISH_TO: url };
  const refused = run(pub, ['publish'], env);
  assert.equal(refused.code, 1, refused.out);
  assert.match(refused.out, /^✖ release\/publish: action threw: http:\/\/127\.0\.0\.1:\d+\/sardet\/v0\.1\.0\/: the server refused to let SHA256SUMS be read \(401 Unauthorized\)\. It wants a token: set \$SBUILD_RELEASE_TOKEN to a bearer token it accepts\.$/m);
  assert.doesNotMatch(refused.out, /at HttpStore/, 'an expected failure shows no stack');
  assert.equal(fs.existsSync(path.join(pub, `${BUNDLE}.published.json`)) && JSON.parse(fs.readFileSync(path.join(pub, `${BUNDLE}.published.json`), 'utf8')).published[0].to === url, false, 'a refused publish is not recorded');

  const ok = sbuild(pub, ['publish'], { ...env, SBUILD_RELEASE_TOKEN: TOKEN });
  assert.equal(ok.includes(TOKEN), false, 'the token is never printed');
  assert.equal(sent(ok).length, 6);
  assert.deepEqual(tree(path.join(nginx.dataDir, 'sardet', VERSION)), tree(path.join(pub, BUNDLE)));
  const wrong = run(pub, ['publish', '-B'], { ...env, SBUILD_RELEASE_TOKEN: 'not-it' });
  assert.equal(wrong.code, 1, wrong.out);
  assert.match(wrong.out, /It does not accept the token in \$SBUILD_RELEASE_TOKEN/);
  assert.equal(wrong.out.includes('not-it'), false);
});

test('HTTP: uploads a busy server refuses (503) are retried per file; a server that keeps refusing fails the publish, which is not recorded', { skip: missing }, async () => {
  const busy = await startNginx({ putRate: '1r/s' });
  const down = await startNginx({ putRate: '1r/m' });
  try {
    const out = sbuild(pub, ['publish'], { SARDET_PUBLISH_TO: `${busy.url}/sardet/${VERSION}/` });
    assert.match(out, /: attempt 1 of 3 failed \(http:\/\/127\.0\.0\.1:\d+\/sardet\/v0\.1\.0\/: could not store \S+ \(503 Service (Temporarily )?Unavailable\)\); trying again/);
    assert.equal(sent(out).length, 6);
    assert.deepEqual(tree(path.join(busy.dataDir, 'sardet', VERSION)), tree(path.join(pub, BUNDLE)));
    const statuses = fs.readFileSync(busy.accessLog, 'utf8').split('\n').filter((l) => l.includes('"PUT ')).map((l) => / (\d{3}) /.exec(l.split('"')[2] ?? '')?.[1]);
    assert.equal(statuses.filter((s) => s === '201' || s === '204').length, 6, statuses.join(' '));
    assert.ok(statuses.filter((s) => s === '503').length >= 1, statuses.join(' '));

    // One PUT a minute: the second file fails three times and the publish stops there. The
    // server held a complete earlier publish: its SHA256SUMS is removed before any file it
    // lists is replaced, so it never vouches for the half-replaced folder.
    const downDir = path.join(down.dataDir, 'sardet', VERSION);
    fs.mkdirSync(downDir, { recursive: true });
    for (const n of fs.readdirSync(path.join(pub, BUNDLE))) fs.copyFileSync(path.join(pub, BUNDLE, n), path.join(downDir, n));
    const oldZip = fs.readFileSync(path.join(downDir, 'sardet_mini_checkpoints.zip'));
    fs.writeFileSync(path.join(downDir, 'sardet_mini_checkpoints.zip'), Buffer.concat([oldZip, Buffer.from('older')]));
    fs.writeFileSync(path.join(downDir, 'metrics_jsons.zip'), 'an older metrics zip');
    fs.writeFileSync(path.join(downDir, 'SHA256SUMS'), fs.readFileSync(path.join(downDir, 'SHA256SUMS'), 'utf8').replace(/^[0-9a-f]{64}(?=  metrics_jsons\.zip$)/m, sha(path.join(downDir, 'metrics_jsons.zip'))).replace(/^[0-9a-f]{64}(?=  sardet_mini_checkpoints\.zip$)/m, sha(path.join(downDir, 'sardet_mini_checkpoints.zip'))));
    const failed = run(pub, ['publish'], { SARDET_PUBLISH_TO: `${down.url}/sardet/${VERSION}/` });
    assert.match(failed.out, /removed its SHA256SUMS until the new files are verified/);
    assert.equal(failed.code, 1, failed.out);
    assert.match(failed.out, /attempt 2 of 3 failed/);
    assert.match(failed.out, /✖ release\/publish: action threw: http:\/\/127\.0\.0\.1:\d+\/sardet\/v0\.1\.0\/: could not store sardet_mini_checkpoints\.zip \(503 /);
    assert.equal(fs.existsSync(path.join(down.dataDir, 'sardet', VERSION, 'SHA256SUMS')), false, 'the store never vouches for a partial upload');
    assert.equal(fs.existsSync(path.join(pub, `${BUNDLE}.published.json`)), false, 'a failed publish leaves no record');
    assert.match(sbuild(pub, ['status', 'release/publish']), /^(stale|missing) +release\/publish/m);
  } finally {
    await busy.stop();
    await down.stop();
  }
});

test('fetch: a fresh copy fetches the published bundle from rclone and from HTTP, then runs no training; one evaluation reruns on the fetched checkpoint', { skip: missing }, () => {
  sbuild(pub, ['publish', '-B'], { SARDET_PUBLISH_TO: RC_DEST });
  sbuild(pub, ['publish', '-B'], { SARDET_PUBLISH_TO: `${nginx.url}/sardet/${VERSION}/`, SBUILD_RELEASE_TOKEN: TOKEN });
  const httpSource = `${nginx.url}/sardet/${VERSION}/`;
  for (const [source, env, flags] of [[RC_DEST, {}, []], [httpSource, { READ_TOKEN: TOKEN, SBUILD_RELEASE_TOKEN: TOKEN }, ['--token-env', 'READ_TOKEN']]] as const) {
    const reader = cloneOfPublisher();
    if (source === httpSource) {
      // A source gets no token unless one is named: $SBUILD_RELEASE_TOKEN (a publish token) is not sent.
      const anon = run(reader, ['fetch', source], env);
      assert.equal(anon.code, 1, anon.out);
      assert.match(anon.out, /the server refused to let SHA256SUMS be read \(401 Unauthorized\)\. It wants a token: name the environment variable that holds it \(`--token-env NAME` for sbuild fetch/);
      // A URL that holds '404' (in its port, as here in a folder) is not a missing file.
      const odd = run(reader, ['fetch', `${nginx.url}/v404/`], env);
      assert.equal(odd.code, 1, odd.out);
      assert.match(odd.out, /\/v404\/: the server refused to let SHA256SUMS be read \(401 Unauthorized\)/);
    }
    // Without the assets, the release would train.
    assert.match(sbuild(reader, ['release', '-n']), /^sbuild: dry run: 32 would run, 11 fresh$/m);
    const dry = sbuild(reader, ['fetch', source, '-n', ...flags], env);
    assert.match(dry, /would place \d+ file\(s\)(; \d+ already there with the same bytes)? \(a dry run: nothing was placed\)/);
    // The VR exports' images are in no zip: those targets come back only in part.
    assert.match(dry, /^sbuild: 25 target\(s\) published with the fingerprint sbuild\.lock records would have all their outputs in place, so they would be fresh/m);
    assert.match(dry, /^sbuild: 6 target\(s\) match sbuild\.lock but the bundle lacks some of their outputs \(vis\/cfar_ca\/vr-test, /m);
    assert.equal(fs.existsSync(path.join(reader, 'artifacts/work_dirs/cfar_os/full/checkpoint.json')), false, 'a dry run places nothing');

    const out = sbuild(reader, ['fetch', source, ...flags], env);
    assert.match(out, /^sbuild: 25 target\(s\) published with the fingerprint sbuild\.lock records have all their outputs in place, so they are fresh/m);
    assert.match(out, new RegExp(`fetched ${VERSION} .* from ${source.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: 5 file\\(s\\) verified against SHA256SUMS`));
    assert.equal(out.includes(TOKEN), false);
    // Every checkpoint, log and visualisation is back byte for byte, as is the bundle.
    assert.ok(fs.existsSync(path.join(reader, 'artifacts/work_dirs/cfar_os/full/checkpoint.json')), out);
    for (const rel of ['artifacts/work_dirs/cfar_os/full/checkpoint.json', 'artifacts/work_dirs/cfar_ca/smoke/train.log', 'artifacts/visualizations/gradcam_sample500/cfar_os_test.zip', `${BUNDLE}/SHA256SUMS`, 'artifacts/release_assets/sardet_mini_checkpoints.zip']) {
      assert.equal(sha(path.join(reader, rel)), sha(path.join(pub, rel)), rel);
    }
    assert.deepEqual(fs.readdirSync(path.join(reader, '.sbuild/fetch')), [], 'the staging folder is removed');
    assert.deepEqual(ran(sbuild(reader, ['release', '--json'])), [], 'nothing runs after the fetch');
    // One evaluation on the fetched checkpoint: it and the dataset it reads run, no training.
    const evalRan = ran(sbuild(reader, ['exp/cfar_os/full/eval-test', '-B', '--json']));
    assert.ok(evalRan.includes('exp/cfar_os/full/eval-test') && !evalRan.some((n) => n.endsWith('/train')), evalRan.join(', '));
    assert.equal(sha(path.join(reader, 'artifacts/work_dirs/cfar_os/full/test_metrics.json')), sha(path.join(pub, 'artifacts/work_dirs/cfar_os/full/test_metrics.json')));
    // A second fetch finds everything in place.
    assert.match(sbuild(reader, ['fetch', source, ...flags], env), /placed 0 file\(s\); \d+ already there with the same bytes/);
  }
});

test('fetch refuses a tampered file (named, deleted, nothing placed), an unreachable server and a missing bundle with one clear error', { skip: missing }, async () => {
  sbuild(pub, ['publish', '-B'], { SARDET_PUBLISH_TO: RC_DEST });
  const remoteZip = path.join(rclone.dataDir, 'sardet', VERSION, 'sardet_mini_checkpoints.zip');
  const good = fs.readFileSync(remoteZip);
  const bad = Buffer.from(good);
  bad[100] = bad[100]! ^ 0xff;
  rcloneCmd(['rcat', `pub:sardet/${VERSION}/sardet_mini_checkpoints.zip`], bad);
  try {
    const reader = demoClone();
    const r = run(reader, ['fetch', RC_DEST]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /error: rclone:pub:sardet\/v0\.1\.0: sardet_mini_checkpoints\.zip does not match SHA256SUMS \(its SHA-256 is [0-9a-f]{64}, SHA256SUMS says [0-9a-f]{64}\); it was deleted and nothing was installed\./);
    assert.equal(fs.existsSync(path.join(reader, 'artifacts/work_dirs/cfar_os/full/checkpoint.json')), false);
    assert.equal(fs.existsSync(path.join(reader, BUNDLE)), false);
    assert.deepEqual(fs.readdirSync(path.join(reader, '.sbuild/fetch')), []);

    // A loopback port nothing listens on: port 2, below the range test servers are handed (a
    // free port picked at random was taken by another test file's server once), and not one
    // fetch refuses to try.
    const port = 2;
    const down = run(reader, ['fetch', `http://127.0.0.1:${port}/sardet/v0.1.0/`]);
    assert.equal(down.code, 1, down.out);
    assert.equal(down.out.trim(), `error: http://127.0.0.1:${port}/sardet/v0.1.0/: the server could not be reached (connection refused). Check the URL and that the server is up.`);
    const none = run(reader, ['fetch', 'rclone:pub:sardet/v9.9.9']);
    assert.equal(none.code, 1, none.out);
    assert.match(none.out, /^error: rclone:pub:sardet\/v9\.9\.9: no SHA256SUMS there, so there is no release bundle to fetch \(check the path or tag\)\.$/m);
    const usage = run(reader, ['fetch']);
    assert.equal(usage.code, 2);
    assert.match(usage.out, /`sbuild fetch` takes one source/);
    const ftp = run(reader, ['fetch', 'ftp://example.org/x/']);
    assert.equal(ftp.code, 2);
    assert.match(ftp.out, /^error: `sbuild fetch`: "ftp:\/\/example\.org\/x\/" is not a store name\. Name a store as rclone:REMOTE:PATH/m);
    const flag = run(reader, ['build', '--overwrite']);
    assert.equal(flag.code, 2);
    assert.match(flag.out, /--overwrite is a flag of `sbuild fetch`/);
  } finally {
    rcloneCmd(['rcat', `pub:sardet/${VERSION}/sardet_mini_checkpoints.zip`], good);
  }
});

test('gh: publish --dry-run prints the exact gh command lines (gh itself is not needed for that)', { skip: missing }, () => {
  // Where gh is installed it has no login here (an empty config, no token), so it cannot be asked either.
  const ghConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-gh-'));
  const env = { SARDET_PUBLISH_TO: 'gh:sardet-lab/sardet-mini@v0.1.0', GH_CONFIG_DIR: ghConfig, GH_TOKEN: '', GITHUB_TOKEN: '' };
  const dry = run(pub, ['publish', '-n'], env);
  assert.equal(dry.code, 0, dry.out);
  const manifest = JSON.parse(fs.readFileSync(path.join(pub, BUNDLE, 'manifest.json'), 'utf8'));
  const target = manifest.commit ? ` --target ${manifest.commit}` : '';
  const lines = dry.stdout.split('\n').filter((l) => l.startsWith('  gh '));
  assert.deepEqual(lines, [
    `  gh release create v0.1.0 --repo sardet-lab/sardet-mini --title v0.1.0 --notes 'Release bundle v0.1.0 (manifest.json lists each file, the target that built it and its source commit).'${target}`,
    ...['metrics_jsons.zip', 'sardet_mini_checkpoints.zip', 'sardet_mini_logs.zip', 'sardet_mini_visualizations.zip', 'manifest.json', 'SHA256SUMS'].map(
      (n) => `  gh release upload v0.1.0 ${BUNDLE}/${n} --repo sardet-lab/sardet-mini --clobber`,
    ),
  ]);
  assert.match(dry.stdout, /would send 6 file\(s\), [\d.]+ MB, to gh:sardet-lab\/sardet-mini@v0\.1\.0 \(could not ask it what it holds: /);
  fs.rmSync(ghConfig, { recursive: true, force: true });
});

test('publish: a config without releasePublish, a target that is not one, and a bad destination are refused (exit 2)', { skip: missing }, () => {
  const r = rig();
  r.config(`{ targets: [{ name: 'a', outputs: ['a.txt'], run: 'echo a > a.txt' }] }`);
  let res = r.run(['publish']);
  assert.equal(res.code, 2, res.stdout + res.stderr);
  assert.match(res.stderr, /tasks\.config\.ts declares no releasePublish target, so `sbuild publish` has nothing to do\./);
  r.config(`{ targets: [{ name: 'a', outputs: ['a.txt'], run: 'echo a > a.txt' }, releasePublish({ name: 'pub', bundle: 'out/v1', to: 'rclone:r:x' })] }`, "import { releasePublish } from 'sbuild/rules';");
  res = r.run(['publish', 'a']);
  assert.equal(res.code, 2, res.stdout + res.stderr);
  assert.match(res.stderr, /`sbuild publish` builds releasePublish targets; 'a' is not one\. Publish targets here: pub\./);
  r.config(`{ targets: [releasePublish({ name: 'pub', bundle: 'out/v1', to: ['rclone:r:x', 'gh:owner@v1'] })] }`, "import { releasePublish } from 'sbuild/rules';");
  res = r.run(['publish']);
  assert.equal(res.code, 2, res.stdout + res.stderr);
  assert.match(res.stderr, /releasePublish\("pub"\): `to`\[1\]: "gh:owner@v1" does not name a GitHub release \(gh:OWNER\/REPO@TAG\)\. Name a store as/);
  assert.equal(r.exists('out'), false);
});

test('releaseFetch: a config downloads a published bundle as a target (verified, cached, pinned by its SHA256SUMS)', { skip: missing }, () => {
  sbuild(pub, ['publish', '-B'], { SARDET_PUBLISH_TO: RC_DEST });
  const remote = path.join(rclone.dataDir, 'sardet', VERSION);
  const pin = sha(path.join(remote, 'SHA256SUMS'));
  const r = rig();
  const write = (pinned: string) =>
    r.config(
      `{
    default: 'use',
    targets: [
      releaseFetch({ name: 'baseline', from: ${JSON.stringify(RC_DEST)}, output: 'third_party/baseline', sha256sums: ${JSON.stringify(pinned)} }),
      { name: 'use', inputs: ['third_party/baseline/manifest.json'], outputs: ['n.txt'], run: ${JSON.stringify(sh('use', 'wc -c < third_party/baseline/manifest.json > n.txt'))} },
    ],
  }`,
      "import { releaseFetch } from 'sbuild/rules';",
    );
  const env = { RCLONE_CONFIG: rclone.config };
  write(pin);
  const first = r.run([], env);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.deepEqual(r.takeRuns(), ['use']);
  assert.deepEqual(tree(r.path('third_party/baseline')), tree(remote));
  assert.match(first.stdout, /  baseline: received sardet_mini_visualizations\.zip \(/);
  const second = r.run([], env);
  assert.match(second.stdout, /^sbuild: 0 ran, 2 fresh/m);
  // Deleted: restored from the local cache, not downloaded again.
  fs.rmSync(r.path('third_party/baseline'), { recursive: true });
  const third = r.run([], env);
  assert.match(third.stdout, /↺ baseline restored from cache/);
  assert.deepEqual(tree(r.path('third_party/baseline')), tree(remote));

  // Pinned to other bytes: refused, nothing left in the output folder.
  write('0'.repeat(64));
  const wrong = r.run(['-B', 'baseline'], env);
  assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
  assert.match(wrong.stdout, new RegExp(`its SHA256SUMS has SHA-256 ${pin}, not the pinned ${'0'.repeat(64)}; the bundle there is not the one asked for\\.`));
  assert.equal(fs.existsSync(r.path('third_party/baseline')), false);
  assert.deepEqual(r.takeRuns(), []);
});
