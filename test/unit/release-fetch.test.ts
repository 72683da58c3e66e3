// `sbuild fetch`: everything a downloaded bundle holds is untrusted. These tests parse store
// names and SHA256SUMS, read hostile zips made with Python's zipfile, check workspace paths
// against symbolic links and sbuild's or git's own files, and install hand-made staged bundles,
// asserting what lands where (bytes, modes) and that a refusal leaves the workspace as it was.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import type { Readable } from 'node:stream';
import { SbuildError } from '../../src/errors.js';
import { parseStore, parseSums, TransferError, DEFAULT_TOKEN_ENV, type ReleaseStore } from '../../src/release/store.js';
import { HttpStore } from '../../src/release/http-store.js';
import { forEachZipEntry, unsafeEntryName, zipEntryHashes, writeEntry, ZipReadError, type ZipEntryInfo } from '../../src/release/zip-entries.js';
import { safeDestination, installBundle, type LockedTarget, type InstallReport } from '../../src/release/install.js';
import { downloadBundle, type StagedBundle } from '../../src/release/fetch.js';
import { allowLinkedFolders } from '../../src/util/fs.js';
import type { ReleaseManifest, ManifestContent, ManifestFile } from '../../rules/release.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `sbuild-relfetch-${prefix}-`));
  dirs.push(d);
  return d;
}
const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------
// Zips made with Python's zipfile, so that names and attributes yazl would never write can be.

interface ZipSpec {
  name: string;
  data?: string | Buffer;
  /** Unix st_mode stored in the high 16 bits of external_attr (create_system 3); else made on MS-DOS. */
  attr?: number;
  /** Patch the central directory's uncompressed size to this (a lying archive). */
  lieSize?: number;
}

const PY_ZIP = `
import sys, json, zipfile, base64, struct, warnings
warnings.simplefilter('ignore')
out, spec = sys.argv[1], json.loads(sys.argv[2])
with zipfile.ZipFile(out, 'w') as zf:
    for e in spec:
        zi = zipfile.ZipInfo(e['name'], date_time=(2020, 1, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        if e.get('attr') is not None:
            zi.create_system = 3
            zi.external_attr = (e['attr'] << 16) | (0x10 if e['name'].endswith('/') else 0)
        else:
            zi.create_system = 0  # MS-DOS: no unix mode recorded
        zf.writestr(zi, base64.b64decode(e['data']))
b = bytearray(open(out, 'rb').read())
for e in spec:
    if e.get('lie') is None: continue
    i = 0
    while True:
        i = b.find(b'PK\\x01\\x02', i)
        assert i >= 0, 'entry not found'
        n = struct.unpack_from('<H', b, i + 28)[0]
        if bytes(b[i + 46:i + 46 + n]).decode() == e['name']:
            struct.pack_into('<I', b, i + 24, e['lie'])
            break
        i += 4
open(out, 'wb').write(bytes(b))
`;

function makeZip(file: string, entries: ZipSpec[]): string {
  const spec = entries.map((e) => ({ name: e.name, data: Buffer.from(e.data ?? '').toString('base64'), attr: e.attr ?? null, lie: e.lieSize ?? null }));
  execFileSync('python3', ['-c', PY_ZIP, file, JSON.stringify(spec)]);
  return file;
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Runs forEachZipEntry, reading every entry; returns what was visited and what it threw. */
async function visitAll(file: string): Promise<{ visited: Array<ZipEntryInfo & { data: Buffer }>; error: unknown }> {
  const visited: Array<ZipEntryInfo & { data: Buffer }> = [];
  try {
    await forEachZipEntry(file, async (e, bytes) => {
      visited.push({ ...e, data: await readAll(bytes) });
    });
  } catch (error) {
    return { visited, error };
  }
  return { visited, error: undefined };
}

// ---------------------------------------------------------------------------------------------
// parseStore / parseSums

test('parseStore: each valid form gives the right fields', () => {
  assert.deepEqual(parseStore('rclone:s3:bucket/sardet/v0.1.0', 'flag'), { kind: 'rclone', remote: 's3', path: 'bucket/sardet/v0.1.0', text: 'rclone:s3:bucket/sardet/v0.1.0' });
  // Trailing slashes are dropped from an rclone path; a remote name may hold spaces and dots.
  assert.deepEqual(parseStore('rclone:my remote.v2:a/b//', 'flag'), { kind: 'rclone', remote: 'my remote.v2', path: 'a/b', text: 'rclone:my remote.v2:a/b//' });
  assert.deepEqual(parseStore('gh:some-owner/repo.name@v1.2.3-rc1', 'flag'), { kind: 'gh', repo: 'some-owner/repo.name', tag: 'v1.2.3-rc1', text: 'gh:some-owner/repo.name@v1.2.3-rc1' });
  // A source's token variable only when named (or a default given, as for publish destinations).
  assert.deepEqual(parseStore('https://example.com/rel/v1', 'flag'), { kind: 'http', url: 'https://example.com/rel/v1/', tokenEnv: undefined, text: 'https://example.com/rel/v1' });
  assert.deepEqual(parseStore('https://example.com/rel/v1', 'flag', { tokenEnv: DEFAULT_TOKEN_ENV }), { kind: 'http', url: 'https://example.com/rel/v1/', tokenEnv: DEFAULT_TOKEN_ENV, text: 'https://example.com/rel/v1' });
  assert.equal(DEFAULT_TOKEN_ENV, 'SBUILD_RELEASE_TOKEN');
  assert.deepEqual(parseStore('HTTP://example.com:8080/x/', 'flag'), { kind: 'http', url: 'http://example.com:8080/x/', tokenEnv: undefined, text: 'HTTP://example.com:8080/x/' });
  assert.deepEqual(parseStore({ url: 'https://example.com/x/', tokenEnv: 'MY_TOKEN_2' }, 'opt'), { kind: 'http', url: 'https://example.com/x/', tokenEnv: 'MY_TOKEN_2', text: 'https://example.com/x/' });
  assert.deepEqual(parseStore({ url: 'https://example.com/x' }, 'opt'), { kind: 'http', url: 'https://example.com/x/', tokenEnv: undefined, text: 'https://example.com/x' });
  assert.deepEqual(parseStore({ url: 'https://example.com/x' }, 'opt', { tokenEnv: 'DEF' }), { kind: 'http', url: 'https://example.com/x/', tokenEnv: 'DEF', text: 'https://example.com/x' });
});

test('parseStore: invalid names are refused with exit 2, naming the input and where it was given', () => {
  const refused = (input: unknown, key: RegExp): SbuildError => {
    let caught: unknown;
    try {
      parseStore(input, '`sbuild fetch`');
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof SbuildError, `${JSON.stringify(input)} was not refused`);
    assert.ok(!(caught instanceof TransferError), 'a bad store name is a usage error, not a transfer error');
    assert.equal(caught.exitCode, 2);
    assert.equal(caught.kind, 'usage');
    assert.match(caught.message, /^`sbuild fetch`: /);
    assert.match(caught.message, key);
    // The message says which forms are accepted.
    assert.match(caught.message, /rclone:REMOTE:PATH .* gh:OWNER\/REPO@TAG .* http\(s\):\/\/ URL/);
    return caught;
  };
  refused('', /expected a store name, got ""/);
  refused('   ', /expected a store name, got " {3}"/);
  refused(undefined, /expected a store name, got undefined/);
  refused(42, /expected a store name, got 42/);
  refused('rclone:', /"rclone:" does not name an rclone remote \(rclone:REMOTE:PATH\)/);
  refused('rclone::path', /"rclone::path" does not name an rclone remote/);
  refused('rclone: :path', /"rclone: :path" does not name an rclone remote/);
  refused('rclone:r:a/../b', /"rclone:r:a\/\.\.\/b": the path holds '\.\.'/);
  refused('rclone:r:..', /"rclone:r:\.\.": the path holds '\.\.'/);
  refused('gh:owner@tag', /"gh:owner@tag" does not name a GitHub release \(gh:OWNER\/REPO@TAG\)/);
  refused('gh:owner/repo', /"gh:owner\/repo" does not name a GitHub release/);
  refused('gh:owner/repo@a:b', /"gh:owner\/repo@a:b" does not name a GitHub release/);
  refused('ftp://x', /"ftp:\/\/x" is not a store name/);
  refused('/local/folder', /"\/local\/folder" is not a store name/);
  refused('https://example.com/x?token=1', /"https:\/\/example\.com\/x\?token=1": a folder URL takes no query or fragment/);
  refused('https://example.com/x#frag', /"https:\/\/example\.com\/x#frag": a folder URL takes no query or fragment/);
  refused('http://[bad', /"http:\/\/\[bad" is not a valid URL/);
  // Credentials: the URL is named by its origin only, and the secret is not repeated.
  const cred = refused('https://alice:s3cr3t@example.com/rel/', /"https:\/\/example\.com"…: put no credentials in the URL/);
  assert.doesNotMatch(cred.message, /s3cr3t|alice/);
  refused('https://tok@example.com/rel/', /"https:\/\/example\.com"…: put no credentials in the URL/);
  // The object form.
  refused({ url: 'rclone:r:x' }, /`url` must be an http\(s\) URL, got "rclone:r:x"/);
  refused({ tokenEnv: 'X' }, /an object destination needs `url`/);
  refused({ url: 'https://example.com/', tokenEnv: 'BAD-NAME' }, /`tokenEnv` must name an environment variable .*got "BAD-NAME"/);
  refused({ url: 'https://example.com/', tokenEnv: '9X' }, /`tokenEnv` must name an environment variable .*got "9X"/);
  refused(['https://example.com/'], /expected a store name/);
});

test('parseSums: valid text, a malformed line, a duplicate name', () => {
  const h1 = sha('one');
  const h2 = sha('two');
  const sums = parseSums(`${h1}  a.zip\n${h2} *manifest.json\n\n`, 'store');
  assert.deepEqual([...sums], [
    ['a.zip', h1],
    ['manifest.json', h2],
  ]);
  // A name may hold spaces (everything after the separator is the name).
  assert.equal(parseSums(`${h1}  name with spaces.txt\n`, 's').get('name with spaces.txt'), h1);

  const bad = (text: string, re: RegExp): void => {
    assert.throws(
      () => parseSums(text, 'gh:o/r@t'),
      (err: unknown) => err instanceof TransferError && err.exitCode === 1 && /^gh:o\/r@t: /.test(err.message) && re.test(err.message),
    );
  };
  bad(`${h1}  a.zip\nnot-a-hash  b.zip\n`, /line 2 of SHA256SUMS is not '<sha256>  <name>': "not-a-hash  b\.zip"/);
  bad(`${h1.toUpperCase()}  a.zip\n`, /line 1 of SHA256SUMS is not/);
  bad(`${h1.slice(1)}  a.zip\n`, /line 1 of SHA256SUMS is not/);
  bad(`${h1}a.zip\n`, /line 1 of SHA256SUMS is not/);
  bad(`${h1}  \n`, /line 1 of SHA256SUMS is not/);
  bad(`${h1}  a.zip\n${h2}  b.zip\n${h2}  a.zip\n`, /SHA256SUMS lists "a\.zip" twice/);
});

// ---------------------------------------------------------------------------------------------
// Zip entries

test('unsafeEntryName names what is wrong with a name, and passes plain relative names', () => {
  assert.equal(unsafeEntryName('a/b.txt'), undefined);
  assert.equal(unsafeEntryName('dir/'), undefined);
  assert.equal(unsafeEntryName('.hidden/..x'), undefined);
  assert.equal(unsafeEntryName(''), 'an empty name');
  assert.equal(unsafeEntryName('/abs.txt'), 'an absolute path');
  assert.equal(unsafeEntryName('C:/x'), 'a drive letter');
  assert.equal(unsafeEntryName('a\\b.txt'), 'a backslash');
  assert.equal(unsafeEntryName('a\nb'), 'a control character');
  assert.equal(unsafeEntryName('../evil.txt'), "a '..' segment");
  assert.equal(unsafeEntryName('a/../b'), "a '..' segment");
  assert.equal(unsafeEntryName('a/..'), "a '..' segment");
  assert.equal(unsafeEntryName('a//b'), "an empty or '.' segment");
  assert.equal(unsafeEntryName('./a'), "an empty or '.' segment");
});

test('forEachZipEntry: a benign zip yields only its files, in order, with their bytes, SHA-256 and mode', async () => {
  const d = tmp('zip');
  const bin = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));
  const file = makeZip(path.join(d, 'ok.zip'), [
    { name: 'dir/', attr: 0o040755 },
    { name: 'dir/x.txt', data: 'hello\n', attr: 0o100644 },
    { name: 'run.sh', data: '#!/bin/sh\n', attr: 0o100755 },
    { name: 'dir/nested/', attr: 0o040755 },
    { name: 'top.bin', data: bin },
    { name: 'setuid', data: 's', attr: 0o104755 },
    { name: 'shared', data: 'w', attr: 0o100777 },
    // Without the UTF-8 flag a name is CP437: byte 0x01 is the glyph '☺', not a control character.
    { name: 'a\u0001b', data: 'cp437' },
  ]);
  const { visited, error } = await visitAll(file);
  assert.equal(error, undefined);
  assert.deepEqual(
    visited.map((v) => [v.name, v.bytes, v.mode, v.data.toString('hex')]),
    [
      ['dir/x.txt', 6, 0o644, Buffer.from('hello\n').toString('hex')],
      ['run.sh', 10, 0o755, Buffer.from('#!/bin/sh\n').toString('hex')],
      // No unix attributes recorded: 0o644.
      ['top.bin', 300, 0o644, bin.toString('hex')],
      // Only the permission bits are kept.
      ['setuid', 1, 0o755, Buffer.from('s').toString('hex')],
      // Never writable by group or others.
      ['shared', 1, 0o755, Buffer.from('w').toString('hex')],
      ['a\u263Ab', 5, 0o644, Buffer.from('cp437').toString('hex')],
    ],
  );
  assert.deepEqual(
    (await zipEntryHashes(file)).map((e) => [e.name, e.sha256]),
    [
      ['dir/x.txt', sha('hello\n')],
      ['run.sh', sha('#!/bin/sh\n')],
      ['top.bin', sha(bin)],
      ['setuid', sha('s')],
      ['shared', sha('w')],
      ['a\u263Ab', sha('cp437')],
    ],
  );
});

test('forEachZipEntry: hostile entries throw ZipReadError naming the entry, before their bytes are visited', async () => {
  const d = tmp('zip');
  const cases: Array<{ file: string; entries: ZipSpec[]; re: RegExp; visited: string[] }> = [
    // yauzl's strictFileNames check catches these first; the message still names the entry.
    { file: 'dotdot.zip', entries: [{ name: 'ok.txt', data: 'ok' }, { name: '../evil.txt', data: 'evil' }], re: /^the entry "\.\.\/evil\.txt" is refused \(invalid relative path\); an archive entry must be a plain relative path$/, visited: ['ok.txt'] },
    { file: 'middotdot.zip', entries: [{ name: 'a/../../b.txt', data: 'x' }], re: /^the entry "a\/\.\.\/\.\.\/b\.txt" is refused \(invalid relative path\)/, visited: [] },
    { file: 'abs.zip', entries: [{ name: '/abs.txt', data: 'a' }], re: /^the entry "\/abs\.txt" is refused \(absolute path\)/, visited: [] },
    { file: 'backslash.zip', entries: [{ name: 'a\\b.txt', data: 'a' }], re: /^the entry "a\\\\b\.txt" is refused \(invalid characters in fileName\)/, visited: [] },
    { file: 'backslash-dotdot.zip', entries: [{ name: '..\\evil.txt', data: 'a' }], re: /^the entry "\.\.\\\\evil\.txt" is refused \(invalid characters in fileName\)/, visited: [] },
    { file: 'drive.zip', entries: [{ name: 'C:/x.txt', data: 'a' }], re: /^the entry "C:\/x\.txt" is refused \(absolute path\); an archive entry must be a plain relative path$/, visited: [] },
    // Our own checks. A non-ASCII name is stored with the UTF-8 flag, so its control character stays one.
    { file: 'ctrl.zip', entries: [{ name: '\u00e9\u0001b', data: 'a' }], re: /^the entry "\u00e9\\u0001b" has a control character; an archive entry must be a plain relative path$/, visited: [] },
    { file: 'dotseg.zip', entries: [{ name: 'a/./b', data: 'a' }], re: /^the entry "a\/\.\/b" has an empty or '\.' segment; an archive entry must be a plain relative path$/, visited: [] },
    { file: 'symlink.zip', entries: [{ name: 'ok.txt', data: 'ok' }, { name: 'link', data: '/outside/secret', attr: 0o120777 }], re: /^the entry "link" is not a plain file \(a symbolic link or special file\); it is refused$/, visited: ['ok.txt'] },
    { file: 'fifo.zip', entries: [{ name: 'fifo', data: '', attr: 0o010644 }], re: /^the entry "fifo" is not a plain file/, visited: [] },
    { file: 'chardev.zip', entries: [{ name: 'dev', data: '', attr: 0o020644 }], re: /^the entry "dev" is not a plain file/, visited: [] },
    { file: 'dup.zip', entries: [{ name: 'd.txt', data: '1' }, { name: 'd.txt', data: '2' }], re: /^the entry "d\.txt" appears twice$/, visited: ['d.txt'] },
  ];
  for (const c of cases) {
    const { visited, error } = await visitAll(makeZip(path.join(d, c.file), c.entries));
    assert.ok(error instanceof ZipReadError, `${c.file}: expected a ZipReadError, got ${String(error)}`);
    assert.match(error.message, c.re, c.file);
    assert.deepEqual(visited.map((v) => v.name), c.visited, c.file);
  }
  // A symbolic link marked as a folder by its name is skipped, not followed or made.
  const dirLink = await visitAll(makeZip(path.join(d, 'dirlink.zip'), [{ name: 'l/', attr: 0o120777 }, { name: 'f', data: 'f' }]));
  assert.equal(dirLink.error, undefined);
  assert.deepEqual(dirLink.visited.map((v) => v.name), ['f']);
});

test('forEachZipEntry: a file that is not a zip, and an entry whose size lies, throw ZipReadError', async () => {
  const d = tmp('zip');
  const junk = path.join(d, 'junk.zip');
  fs.writeFileSync(junk, 'this is not a zip archive at all, just text');
  const r1 = await visitAll(junk);
  assert.ok(r1.error instanceof ZipReadError);
  assert.match(r1.error.message, /^not a readable zip \(/);

  const liar = makeZip(path.join(d, 'liar.zip'), [{ name: 'big.txt', data: 'hello'.repeat(100), lieSize: 10 }]);
  const r2 = await visitAll(liar);
  assert.ok(r2.error instanceof ZipReadError, String(r2.error));
  assert.match(r2.error.message, /^the entry "big\.txt" cannot be read \(too many bytes in the stream\. expected 10/);
});

test("forEachZipEntry: an error thrown by the visitor is passed on as it is, not as 'not a readable zip'", async () => {
  const d = tmp('zip');
  const zip = makeZip(path.join(d, 'z.zip'), [{ name: 'one', data: '1' }, { name: 'two', data: '2' }]);
  const mine = new TransferError('LABEL: refused by the caller');
  const seen: string[] = [];
  let caught: unknown;
  try {
    await forEachZipEntry(zip, async (e, bytes) => {
      seen.push(e.name);
      bytes.resume();
      throw mine;
    });
  } catch (err) {
    caught = err;
  }
  assert.deepEqual(seen, ['one']);
  assert.equal(caught, mine);
});

test('writeEntry writes a new file with the mode, and refuses to replace one', async () => {
  const d = tmp('write');
  const zip = makeZip(path.join(d, 'z.zip'), [{ name: 'x', data: 'abc', attr: 0o100600 }]);
  const dest = path.join(d, 'out');
  await forEachZipEntry(zip, async (e, bytes) => {
    assert.deepEqual(await writeEntry(bytes, dest, e.mode), { sha256: sha('abc'), bytes: 3 });
  });
  assert.equal(fs.readFileSync(dest, 'utf8'), 'abc');
  assert.equal(fs.statSync(dest).mode & 0o777, 0o600);
  await assert.rejects(
    forEachZipEntry(zip, async (e, bytes) => {
      await writeEntry(bytes, dest, e.mode);
    }),
    /EEXIST/,
  );
  assert.equal(fs.readFileSync(dest, 'utf8'), 'abc');
});

// ---------------------------------------------------------------------------------------------
// safeDestination

function workspace(): { root: string; outside: string } {
  const root = tmp('ws');
  const outside = tmp('outside');
  fs.mkdirSync(path.join(root, 'real/deep'), { recursive: true });
  fs.writeFileSync(path.join(root, 'afile'), 'a file');
  return { root, outside };
}

function refusedDest(root: string, rel: unknown, re: RegExp): void {
  const rootReal = fs.realpathSync(root);
  assert.throws(
    () => safeDestination(root, rootReal, rel, 'LABEL'),
    (err: unknown) => {
      assert.ok(err instanceof TransferError, `${JSON.stringify(rel)}: expected a TransferError, got ${String(err)}`);
      assert.equal(err.exitCode, 1);
      assert.match(err.message, /^LABEL: /);
      assert.match(err.message, re, JSON.stringify(rel));
      return true;
    },
    `${JSON.stringify(rel)} was not refused`,
  );
}

test('safeDestination: plain paths inside the workspace are returned absolute', () => {
  const { root } = workspace();
  const rootReal = fs.realpathSync(root);
  assert.equal(safeDestination(root, rootReal, 'new/dir/file.txt', 'L'), path.join(root, 'new/dir/file.txt'));
  assert.equal(safeDestination(root, rootReal, 'real/deep/file.txt', 'L'), path.join(root, 'real/deep/file.txt'));
  assert.equal(safeDestination(root, rootReal, 'afile', 'L'), path.join(root, 'afile'));
  // Names that only look like state files.
  assert.equal(safeDestination(root, rootReal, 'docs/.git-notes', 'L'), path.join(root, 'docs/.git-notes'));
  assert.equal(safeDestination(root, rootReal, '.gitignore', 'L'), path.join(root, '.gitignore'));
  assert.equal(safeDestination(root, rootReal, 'sub/sbuild.lock', 'L'), path.join(root, 'sub/sbuild.lock'));
  // Nothing was made.
  assert.deepEqual(fs.readdirSync(root).sort(), ['afile', 'real']);
});

test('safeDestination: escaping paths and sbuild/git state are refused', () => {
  const { root } = workspace();
  refusedDest(root, '../x', /the manifest path "\.\.\/x" has a '\.\.' segment; the bundle is refused/);
  refusedDest(root, '/x', /the manifest path "\/x" has an absolute path/);
  refusedDest(root, '/outside/secret', /has an absolute path/);
  refusedDest(root, 'a/../b', /the manifest path "a\/\.\.\/b" has a '\.\.' segment/);
  refusedDest(root, 'a/..', /has a '\.\.' segment/);
  refusedDest(root, 'a\\..\\..\\x', /has a backslash/);
  refusedDest(root, '', /has an empty name/);
  refusedDest(root, '.', /has an empty or '\.' segment/);
  refusedDest(root, '.sbuild/x', /the manifest path "\.sbuild\/x" lies in sbuild's or git's own files/);
  refusedDest(root, '.sbuild', /lies in sbuild's or git's own files/);
  refusedDest(root, '.git/config', /the manifest path "\.git\/config" lies in sbuild's or git's own files/);
  refusedDest(root, '.git/hooks/pre-commit', /lies in sbuild's or git's own files/);
  refusedDest(root, 'sbuild.lock', /the manifest path "sbuild\.lock" lies in sbuild's or git's own files/);
  refusedDest(root, null, /a path in the manifest is not a string \(null\)/);
  refusedDest(root, ['x'], /a path in the manifest is not a string \(\["x"\]\)/);
});

test('safeDestination: a symbolic link leading out of the workspace is refused, naming the link', () => {
  const { root, outside } = workspace();
  fs.symlinkSync(outside, path.join(root, 'out'));
  const outReal = fs.realpathSync(outside);
  refusedDest(root, 'out/file', new RegExp(`"out/file" would be written through the symbolic link out → ${outReal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, outside the workspace`));
  refusedDest(root, 'out/deeper/file', /through the symbolic link out → .*outside the workspace/);
  // A relative link and a link below a real folder.
  fs.symlinkSync('../../' + path.basename(outside), path.join(root, 'real/up'));
  refusedDest(root, 'real/up/file', /through the symbolic link real\/up → .*outside the workspace/);
  // A link to the workspace's parent.
  fs.symlinkSync('..', path.join(root, 'parent'));
  refusedDest(root, 'parent/x', /through the symbolic link parent → .*outside the workspace/);
  assert.deepEqual(fs.readdirSync(outside), []);
});

test('safeDestination: a link inside the workspace is followed; a link as the final path, or a file as a folder, is refused', () => {
  const { root } = workspace();
  const rootReal = fs.realpathSync(root);
  fs.symlinkSync('./real', path.join(root, 'inner'));
  assert.equal(safeDestination(root, rootReal, 'inner/file', 'L'), path.join(root, 'inner/file'));
  assert.equal(safeDestination(root, rootReal, 'inner/deep/new/file', 'L'), path.join(root, 'inner/deep/new/file'));
  // The final path is a link (to a file inside the workspace, and to a folder inside it).
  fs.symlinkSync('afile', path.join(root, 'alink'));
  refusedDest(root, 'alink', /"alink" is a symbolic link in the workspace; it is refused/);
  refusedDest(root, 'inner', /"inner" is a symbolic link in the workspace; it is refused/);
  // A parent that is a file, directly and through an inside link.
  refusedDest(root, 'afile/x', /"afile\/x" cannot be written: afile is a file, not a folder/);
  refusedDest(root, 'alink/x', /"alink\/x" cannot be written: alink is a file, not a folder/);
});

test('safeDestination: a dangling symbolic link on the way is refused as a TransferError (not a raw ENOENT)', () => {
  const { root, outside } = workspace();
  // Points outside, at a folder that does not exist (yet): writing through it would create it there.
  fs.symlinkSync(path.join(outside, 'not-yet'), path.join(root, 'dangle'));
  refusedDest(root, 'dangle/file', /dangle/);
  refusedDest(root, 'dangle', /dangle/);
});

test("safeDestination: a nested repository's .git folder (hooks, config) is refused", () => {
  const { root } = workspace();
  // A nested clone (e.g. third_party/mmdetection) has its own .git folder: its hooks and config run code.
  fs.mkdirSync(path.join(root, 'third_party/lib/.git/hooks'), { recursive: true });
  refusedDest(root, 'third_party/lib/.git/hooks/post-checkout', /lies in sbuild's or git's own files/);
  refusedDest(root, 'third_party/lib/.git/config', /lies in sbuild's or git's own files/);
});

test("safeDestination: a link inside the workspace that resolves into the workspace's own .git is refused", () => {
  const { root } = workspace();
  fs.mkdirSync(path.join(root, '.git'));
  fs.symlinkSync('.git', path.join(root, 'gitlink'));
  refusedDest(root, 'gitlink/config', /gitlink/);
});

// ---------------------------------------------------------------------------------------------
// installBundle

const FP_T = sha('fp-train');
const FP_E = sha('fp-eval');
const FP_M = sha('fp-metrics');
const BIN = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) % 256));

interface BundleSpec {
  /** Entries of metrics.zip. */
  zip: ZipSpec[];
  /** Changes to the manifest before it is written (hashes in SHA256SUMS follow). */
  tweak?: (m: ReleaseManifest) => void;
}

const DEFAULT_ZIP: ZipSpec[] = [
  { name: 'a.json', data: '{"a":1}\n', attr: 0o100644 },
  { name: 'sub/', attr: 0o040755 },
  { name: 'sub/b.bin', data: BIN, attr: 0o100755 },
  { name: 'c.txt', data: 'no target\n', attr: 0o100644 },
];
const REPORT = 'report body\n';

function content(base: string, name: string, data: string | Buffer, target: string | null, fingerprint: string | null): ManifestContent {
  return { entry: name, path: base === '' ? name : `${base}/${name}`, bytes: Buffer.from(data).length, sha256: sha(data), target, fingerprint };
}

/** A bundle folder as downloadBundle leaves it: metrics.zip, report.txt, manifest.json, SHA256SUMS. */
function buildBundle(spec: BundleSpec = { zip: DEFAULT_ZIP }): string {
  const dir = tmp('bundle');
  const zipAbs = makeZip(path.join(dir, 'metrics.zip'), spec.zip);
  fs.writeFileSync(path.join(dir, 'report.txt'), REPORT);
  const zipBytes = fs.readFileSync(zipAbs);
  const base = 'artifacts/runs';
  const targets: Record<string, [string | null, string | null]> = { 'a.json': ['train', FP_T], 'sub/b.bin': ['eval', FP_E] };
  const files: ManifestFile[] = [
    {
      path: 'metrics.zip',
      bytes: zipBytes.length,
      sha256: sha(zipBytes),
      source: 'artifacts/metrics.zip',
      target: 'metrics',
      fingerprint: FP_M,
      unpack: {
        base,
        files: spec.zip
          .filter((e) => !e.name.endsWith('/'))
          .map((e) => content(base, e.name, e.data ?? '', targets[e.name]?.[0] ?? null, targets[e.name]?.[1] ?? null)),
      },
    },
    { path: 'report.txt', bytes: REPORT.length, sha256: sha(REPORT), source: 'docs/report.txt', target: null, fingerprint: null },
  ];
  const manifest: ReleaseManifest = { version: 'v1', folder: 'artifacts/release/v1', commit: null, dirty: null, changed: null, files, lineage: [] };
  spec.tweak?.(manifest);
  const text = JSON.stringify(manifest, null, 2) + '\n';
  fs.writeFileSync(path.join(dir, 'manifest.json'), text);
  const sums = [...manifest.files.map((f) => [f.path, f.sha256] as const), ['manifest.json', sha(text)] as const]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([n, h]) => `${h}  ${n}\n`)
    .join('');
  fs.writeFileSync(path.join(dir, 'SHA256SUMS'), sums);
  return dir;
}

let stagings = 0;
/** A copy of a built bundle staged inside the workspace, as `sbuild fetch` stages it. */
function stage(root: string, built: string): StagedBundle {
  const dir = path.join(root, '.sbuild', 'fetch', String(++stagings), 'bundle');
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.cpSync(built, dir, { recursive: true });
  return {
    dir,
    manifest: JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ReleaseManifest,
    sums: parseSums(fs.readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8'), 'test'),
  };
}

function lockOf(over: Record<string, string> = {}): Map<string, LockedTarget> {
  const fps: Record<string, string> = { train: FP_T, eval: FP_E, metrics: FP_M, ...over };
  return new Map(Object.entries(fps).map(([k, v]) => [k, { fingerprint: v }]));
}

/** Every path under `root` but .sbuild/, with what it is: bytes' SHA-256 and inode, a link's text. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (r === '.sbuild') continue;
      const abs = path.join(root, r);
      if (d.isSymbolicLink()) out[r] = `link ${fs.readlinkSync(abs)}`;
      else if (d.isDirectory()) {
        out[`${r}/`] = 'dir';
        walk(r);
      } else {
        const st = fs.statSync(abs);
        out[r] = `file ${sha(fs.readFileSync(abs))} ino ${st.ino} mode ${(st.mode & 0o777).toString(8)}`;
      }
    }
  };
  walk('');
  return out;
}

const newRoot = (): string => {
  const root = tmp('ws');
  fs.writeFileSync(path.join(root, 'README'), 'workspace\n');
  return root;
};

async function refusedInstall(
  root: string,
  staged: StagedBundle,
  lock: Map<string, LockedTarget>,
  opts: Parameters<typeof installBundle>[4],
  check: (err: SbuildError) => void,
): Promise<void> {
  const before = tree(root);
  let caught: unknown;
  let report: InstallReport | undefined;
  try {
    report = await installBundle(root, staged, lock, 'LABEL', opts);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SbuildError, `expected a refusal, got ${report ? `a report placing ${report.placed.join(', ')}` : String(caught)}`);
  check(caught);
  assert.deepEqual(tree(root), before, 'the workspace changed although the bundle was refused');
  // The staged bundle is left as it was, and the unpacking folder beside it is gone.
  assert.ok(fs.existsSync(path.join(staged.dir, 'metrics.zip')));
  assert.equal(fs.existsSync(`${staged.dir}.unpacked`), false);
}

const ALL_PLACED = ['artifacts/metrics.zip', 'artifacts/release/v1', 'artifacts/runs/a.json', 'artifacts/runs/c.txt', 'artifacts/runs/sub/b.bin', 'docs/report.txt'];

test('installBundle: places entries, assets and the bundle folder; a second fetch finds them all present and changes nothing', async () => {
  const built = buildBundle();
  const root = newRoot();
  const staged = stage(root, built);
  const r = await installBundle(root, staged, lockOf(), 'LABEL');
  assert.deepEqual(r, { placed: ALL_PLACED, present: [], matching: ['eval', 'metrics', 'train'], incomplete: [], differing: [], skipped: 0 });

  const read = (rel: string): Buffer => fs.readFileSync(path.join(root, rel));
  assert.equal(read('artifacts/runs/a.json').toString(), '{"a":1}\n');
  assert.ok(read('artifacts/runs/sub/b.bin').equals(BIN));
  assert.equal(read('artifacts/runs/c.txt').toString(), 'no target\n');
  assert.equal(fs.statSync(path.join(root, 'artifacts/runs/sub/b.bin')).mode & 0o777, 0o755);
  assert.equal(fs.statSync(path.join(root, 'artifacts/runs/a.json')).mode & 0o777, 0o644);
  // Each asset at its source, byte for byte.
  assert.ok(read('artifacts/metrics.zip').equals(fs.readFileSync(path.join(built, 'metrics.zip'))));
  assert.equal(read('docs/report.txt').toString(), REPORT);
  // The bundle folder, whole, where it was built.
  assert.deepEqual(fs.readdirSync(path.join(root, 'artifacts/release/v1')).sort(), ['SHA256SUMS', 'manifest.json', 'metrics.zip', 'report.txt']);
  for (const n of ['SHA256SUMS', 'manifest.json', 'metrics.zip', 'report.txt']) {
    assert.ok(read(`artifacts/release/v1/${n}`).equals(fs.readFileSync(path.join(built, n))), n);
  }
  // Exactly these files, and nothing else, in the workspace; the staging was moved, the work folder removed.
  assert.deepEqual(
    Object.keys(tree(root)).filter((k) => !k.endsWith('/')).sort(),
    ['README', 'artifacts/metrics.zip', 'artifacts/release/v1/SHA256SUMS', 'artifacts/release/v1/manifest.json', 'artifacts/release/v1/metrics.zip', 'artifacts/release/v1/report.txt', 'artifacts/runs/a.json', 'artifacts/runs/c.txt', 'artifacts/runs/sub/b.bin', 'docs/report.txt'],
  );
  assert.equal(fs.existsSync(staged.dir), false);
  assert.equal(fs.existsSync(`${staged.dir}.unpacked`), false);

  // Again: everything is there with the same bytes; nothing is rewritten (same inodes).
  const before = tree(root);
  const again = stage(root, built);
  const r2 = await installBundle(root, again, lockOf(), 'LABEL');
  assert.deepEqual(r2, { placed: [], present: ALL_PLACED, matching: ['eval', 'metrics', 'train'], incomplete: [], differing: [], skipped: 0 });
  assert.deepEqual(tree(root), before);
  assert.equal(fs.existsSync(`${again.dir}.unpacked`), false);
});

test('installBundle: an entry whose bytes do not match the manifest is refused, and nothing is placed', async () => {
  const built = buildBundle({
    zip: DEFAULT_ZIP,
    tweak: (m) => {
      const c = m.files[0]!.unpack!.files.find((x) => x.entry === 'sub/b.bin')!;
      c.sha256 = sha('something else');
    },
  });
  const root = newRoot();
  await refusedInstall(root, stage(root, built), lockOf(), {}, (err) => {
    assert.ok(err instanceof TransferError);
    assert.match(err.message, /^LABEL: metrics\.zip's entry "sub\/b\.bin" does not match manifest\.json \(SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}\); nothing was installed\.$/);
    assert.ok(err.message.includes(sha(BIN)));
  });
  // Also with --overwrite and --any-commit.
  await refusedInstall(root, stage(root, built), lockOf(), { overwrite: true, all: true }, (err) => assert.ok(err instanceof TransferError));

  // A size that does not match is refused too, though the SHA-256 does.
  const sized = buildBundle({
    zip: DEFAULT_ZIP,
    tweak: (m) => {
      m.files[0]!.unpack!.files.find((x) => x.entry === 'a.json')!.bytes = 999;
    },
  });
  await refusedInstall(root, stage(root, sized), lockOf(), {}, (err) => {
    assert.ok(err instanceof TransferError);
    assert.match(err.message, /entry "a\.json" does not match manifest\.json/);
  });
});

test('installBundle: an entry put anywhere but below its base is refused, and nothing is placed', async () => {
  const root = newRoot();
  for (const wrong of ['../../up/x', 'elsewhere/c.txt', 'artifacts/runs/other.txt', '.git/hooks/pre-commit']) {
    const built = buildBundle({
      zip: DEFAULT_ZIP,
      tweak: (m) => {
        m.files[0]!.unpack!.files.find((x) => x.entry === 'c.txt')!.path = wrong;
      },
    });
    await refusedInstall(root, stage(root, built), lockOf(), { overwrite: true, all: true }, (err) => {
      assert.ok(err instanceof TransferError);
      assert.equal(err.message, `LABEL: manifest.json puts metrics.zip's entry "c.txt" at ${JSON.stringify(wrong)}, not below its base "artifacts/runs"; the bundle is refused.`);
    });
  }
  // A hostile base, with paths consistent with it, is refused by the path checks.
  for (const [base, re] of [
    ['../outside', /the manifest path "\.\.\/outside\/a\.json" has a '\.\.' segment/],
    ['/outside', /the manifest path "\/outside\/a\.json" has an absolute path/],
    ['.git/hooks', /the manifest path "\.git\/hooks\/a\.json" lies in sbuild's or git's own files/],
  ] as const) {
    const built = buildBundle({
      zip: DEFAULT_ZIP,
      tweak: (m) => {
        const u = m.files[0]!.unpack!;
        u.base = base;
        for (const c of u.files) c.path = `${base}/${c.entry}`;
      },
    });
    await refusedInstall(root, stage(root, built), lockOf(), { overwrite: true, all: true }, (err) => {
      assert.ok(err instanceof TransferError);
      assert.match(err.message, re);
    });
  }
  // So is a hostile asset source or bundle folder.
  for (const [tweak, re] of [
    [(m: ReleaseManifest) => (m.files[1]!.source = '../x.txt'), /the manifest path "\.\.\/x\.txt" has a '\.\.' segment/],
    [(m: ReleaseManifest) => (m.files[1]!.source = 'sbuild.lock'), /the manifest path "sbuild\.lock" lies in sbuild's or git's own files/],
    [(m: ReleaseManifest) => (m.folder = '.sbuild/fetch'), /the manifest path "\.sbuild\/fetch" lies in sbuild's or git's own files/],
    [(m: ReleaseManifest) => (m.folder = '/outside/release/v1'), /the manifest path "\/outside\/release\/v1" has an absolute path/],
  ] as const) {
    await refusedInstall(root, stage(root, buildBundle({ zip: DEFAULT_ZIP, tweak })), lockOf(), { overwrite: true, all: true }, (err) => {
      assert.ok(err instanceof TransferError);
      assert.match(err.message, re);
    });
  }
});

test('installBundle: a zip entry the manifest does not list, or a listed entry the zip lacks, is refused', async () => {
  const root = newRoot();
  const extra = buildBundle({
    zip: DEFAULT_ZIP,
    tweak: (m) => {
      const u = m.files[0]!.unpack!;
      u.files = u.files.filter((c) => c.entry !== 'c.txt');
    },
  });
  await refusedInstall(root, stage(root, extra), lockOf(), {}, (err) => {
    assert.ok(err instanceof TransferError);
    assert.equal(err.message, 'LABEL: metrics.zip holds the entry "c.txt", which manifest.json does not list; the bundle is refused.');
  });
  const missing = buildBundle({
    zip: DEFAULT_ZIP,
    tweak: (m) => {
      m.files[0]!.unpack!.files.push(content('artifacts/runs', 'ghost.txt', 'boo', null, null));
    },
  });
  await refusedInstall(root, stage(root, missing), lockOf(), {}, (err) => {
    assert.ok(err instanceof TransferError);
    assert.equal(err.message, 'LABEL: manifest.json lists 1 entry that metrics.zip does not hold (ghost.txt); the bundle is refused.');
  });
  // A hostile entry inside the bundle's zip: a ZipReadError, reported as a TransferError naming the zip.
  const sym = buildBundle({ zip: [...DEFAULT_ZIP, { name: 'link', data: '/outside/secret', attr: 0o120777 }] });
  await refusedInstall(root, stage(root, sym), lockOf(), {}, (err) => {
    assert.ok(err instanceof TransferError);
    assert.match(err.message, /^LABEL: metrics\.zip: the entry "link" is not a plain file \(a symbolic link or special file\); it is refused; nothing was installed\.$/);
  });
});

test('installBundle: local files that differ are refused with exit 2, naming them; --overwrite replaces them', async () => {
  const built = buildBundle();
  const root = newRoot();
  fs.mkdirSync(path.join(root, 'artifacts/runs'), { recursive: true });
  fs.writeFileSync(path.join(root, 'artifacts/runs/a.json'), 'local edit\n');
  fs.mkdirSync(path.join(root, 'docs'));
  fs.writeFileSync(path.join(root, 'docs/report.txt'), 'local report\n');
  // One local file with the bundle's bytes already: present, not a conflict.
  fs.writeFileSync(path.join(root, 'artifacts/runs/c.txt'), 'no target\n');
  await refusedInstall(root, stage(root, built), lockOf(), {}, (err) => {
    assert.ok(!(err instanceof TransferError));
    assert.equal(err.exitCode, 2);
    assert.equal(err.kind, 'usage');
    assert.match(err.message, /^fetching LABEL would replace 2 local file\(s\) that differ from the published ones:\n {2}artifacts\/runs\/a\.json\n {2}docs\/report\.txt\nNothing was changed\. Move them away, or pass --overwrite to replace them\.$/);
  });
  assert.equal(fs.readFileSync(path.join(root, 'artifacts/runs/a.json'), 'utf8'), 'local edit\n');

  // A dry run reports the conflict the same way.
  await refusedInstall(root, stage(root, built), lockOf(), { dryRun: true }, (err) => assert.equal(err.exitCode, 2));

  const r = await installBundle(root, stage(root, built), lockOf(), 'LABEL', { overwrite: true });
  assert.deepEqual(r.placed, ALL_PLACED.filter((p) => p !== 'artifacts/runs/c.txt'));
  assert.deepEqual(r.present, ['artifacts/runs/c.txt']);
  assert.equal(fs.readFileSync(path.join(root, 'artifacts/runs/a.json'), 'utf8'), '{"a":1}\n');
  assert.equal(fs.readFileSync(path.join(root, 'docs/report.txt'), 'utf8'), REPORT);
  // The file already right was not rewritten; no temporary files were left beside the replaced ones.
  assert.deepEqual(fs.readdirSync(path.join(root, 'docs')), ['report.txt']);
  assert.deepEqual(fs.readdirSync(path.join(root, 'artifacts/runs')).sort(), ['a.json', 'c.txt', 'sub']);
});

test("installBundle: --overwrite replaces a local folder where a file goes, and a bundle folder that differs", async () => {
  const built = buildBundle();
  const root = newRoot();
  fs.mkdirSync(path.join(root, 'artifacts/runs/a.json/inner'), { recursive: true });
  fs.writeFileSync(path.join(root, 'artifacts/runs/a.json/inner/x'), 'x');
  fs.mkdirSync(path.join(root, 'artifacts/release/v1'), { recursive: true });
  fs.writeFileSync(path.join(root, 'artifacts/release/v1/stale.txt'), 'stale');
  await refusedInstall(root, stage(root, built), lockOf(), {}, (err) => {
    assert.match(err.message, /would replace 2 local file\(s\).*:\n {2}artifacts\/runs\/a\.json\n {2}artifacts\/release\/v1\n/s);
  });
  const r = await installBundle(root, stage(root, built), lockOf(), 'LABEL', { overwrite: true });
  assert.deepEqual(r.placed, ALL_PLACED);
  assert.equal(fs.readFileSync(path.join(root, 'artifacts/runs/a.json'), 'utf8'), '{"a":1}\n');
  assert.deepEqual(fs.readdirSync(path.join(root, 'artifacts/release/v1')).sort(), ['SHA256SUMS', 'manifest.json', 'metrics.zip', 'report.txt']);
});

test('installBundle: files of a target whose fingerprint differs from sbuild.lock are left out, unless all', async () => {
  const built = buildBundle();
  const root = newRoot();
  const lock = lockOf({ train: sha('another commit') });
  lock.delete('metrics'); // not in the lock at all: differs too
  const r = await installBundle(root, stage(root, built), lock, 'LABEL');
  assert.deepEqual(r, {
    placed: ['artifacts/release/v1', 'artifacts/runs/c.txt', 'artifacts/runs/sub/b.bin', 'docs/report.txt'],
    present: [],
    matching: ['eval'],
    incomplete: [],
    differing: ['metrics', 'train'],
    skipped: 2,
  });
  assert.equal(fs.existsSync(path.join(root, 'artifacts/runs/a.json')), false);
  assert.equal(fs.existsSync(path.join(root, 'artifacts/metrics.zip')), false);
  assert.ok(fs.readFileSync(path.join(root, 'artifacts/runs/sub/b.bin')).equals(BIN));

  const root2 = newRoot();
  const r2 = await installBundle(root2, stage(root2, built), lock, 'LABEL', { all: true });
  assert.deepEqual(r2, { placed: ALL_PLACED, present: [], matching: ['eval'], incomplete: [], differing: ['metrics', 'train'], skipped: 0 });
  assert.equal(fs.readFileSync(path.join(root2, 'artifacts/runs/a.json'), 'utf8'), '{"a":1}\n');
  assert.ok(fs.existsSync(path.join(root2, 'artifacts/metrics.zip')));
});

test('installBundle: a dry run places nothing and reports what it would place', async () => {
  const built = buildBundle();
  const root = newRoot();
  fs.mkdirSync(path.join(root, 'docs'));
  fs.writeFileSync(path.join(root, 'docs/report.txt'), REPORT);
  const staged = stage(root, built);
  const before = tree(root);
  const r = await installBundle(root, staged, lockOf({ eval: sha('x') }), 'LABEL', { dryRun: true });
  assert.deepEqual(r, {
    placed: ['artifacts/metrics.zip', 'artifacts/release/v1', 'artifacts/runs/a.json', 'artifacts/runs/c.txt'],
    present: ['docs/report.txt'],
    matching: ['metrics', 'train'],
    incomplete: [],
    differing: ['eval'],
    skipped: 1,
  });
  assert.deepEqual(tree(root), before);
  assert.deepEqual(fs.readdirSync(staged.dir).sort(), ['SHA256SUMS', 'manifest.json', 'metrics.zip', 'report.txt']);
  assert.equal(fs.existsSync(`${staged.dir}.unpacked`), false);
});

test('installBundle: a symbolic link out of the workspace on the way to a content path is refused, and nothing is placed', async () => {
  const built = buildBundle();
  const root = newRoot();
  const outside = tmp('outside');
  fs.mkdirSync(path.join(root, 'artifacts'));
  fs.symlinkSync(outside, path.join(root, 'artifacts/runs'));
  await refusedInstall(root, stage(root, built), lockOf(), { overwrite: true, all: true }, (err) => {
    assert.ok(err instanceof TransferError);
    assert.match(err.message, /^LABEL: "artifacts\/runs\/a\.json" would be written through the symbolic link artifacts\/runs → .*, outside the workspace; it is refused/);
  });
  assert.deepEqual(fs.readdirSync(outside), []);

  // The link as the bundle folder's parent, and the link as a file's final path.
  const root2 = newRoot();
  fs.mkdirSync(path.join(root2, 'artifacts'));
  fs.symlinkSync(outside, path.join(root2, 'artifacts/release'));
  await refusedInstall(root2, stage(root2, built), lockOf(), {}, (err) => {
    assert.match(err.message, /"artifacts\/release\/v1" would be written through the symbolic link artifacts\/release → /);
  });
  const root3 = newRoot();
  fs.mkdirSync(path.join(root3, 'docs'));
  fs.symlinkSync(path.join(outside, 'report.txt'), path.join(root3, 'docs/report.txt'));
  fs.writeFileSync(path.join(outside, 'report.txt'), 'outside');
  await refusedInstall(root3, stage(root3, built), lockOf(), { overwrite: true }, (err) => {
    assert.match(err.message, /"docs\/report\.txt" (would be written through the symbolic link docs\/report\.txt → .*outside the workspace|is a symbolic link in the workspace; it is refused)/);
  });
  assert.equal(fs.readFileSync(path.join(outside, 'report.txt'), 'utf8'), 'outside');
  assert.deepEqual(fs.readdirSync(outside), ['report.txt']);

  // A link inside the workspace is followed.
  const root4 = newRoot();
  fs.mkdirSync(path.join(root4, 'artifacts/real-work'), { recursive: true });
  fs.symlinkSync('real-work', path.join(root4, 'artifacts/runs'));
  const r = await installBundle(root4, stage(root4, built), lockOf(), 'LABEL');
  assert.deepEqual(r.placed, ALL_PLACED);
  assert.equal(fs.readFileSync(path.join(root4, 'artifacts/real-work/a.json'), 'utf8'), '{"a":1}\n');
  assert.equal(fs.lstatSync(path.join(root4, 'artifacts/runs')).isSymbolicLink(), true);
});

test('installBundle: two placements at one path, or one below another file, are refused', async () => {
  const root = newRoot();
  const clash = buildBundle({ zip: DEFAULT_ZIP, tweak: (m) => (m.files[1]!.source = 'artifacts/runs/a.json') });
  await refusedInstall(root, stage(root, clash), lockOf(), {}, (err) => {
    assert.equal(err.message, 'LABEL: manifest.json puts two different files at "artifacts/runs/a.json"; the bundle is refused.');
  });
  const below = buildBundle({ zip: DEFAULT_ZIP, tweak: (m) => (m.files[1]!.source = 'artifacts/runs/sub') });
  await refusedInstall(root, stage(root, below), lockOf(), {}, (err) => {
    assert.match(err.message, /puts a file at "artifacts\/runs\/sub" and another file below it \(artifacts\/runs\/sub\/b\.bin\)/);
  });
});

test('installBundle: every file it reports placed is there afterwards (a content path below the bundle folder)', async () => {
  // The bundle folder is placed last, by replacing whatever is at its path: a file placed below
  // it first must not be deleted while reported as placed.
  const built = buildBundle({ zip: DEFAULT_ZIP, tweak: (m) => (m.folder = 'artifacts/runs') });
  const root = newRoot();
  let report: InstallReport | undefined;
  let caught: unknown;
  const before = tree(root);
  try {
    report = await installBundle(root, stage(root, built), lockOf(), 'LABEL');
  } catch (err) {
    caught = err;
  }
  if (caught !== undefined) {
    // Refusing the bundle is right too, as long as nothing was placed.
    assert.ok(caught instanceof TransferError, String(caught));
    assert.deepEqual(tree(root), before);
    return;
  }
  for (const p of report!.placed) {
    if (p === 'artifacts/runs') continue;
    assert.ok(fs.existsSync(path.join(root, p)), `${p} is reported placed but is not there`);
  }
});

test('installBundle: a corrupt entry of a target left out is refused, not an uncaught stream error', () => {
  // The entry a.json (target train) is skipped because train differs from the lock; its size lies.
  // Run in a child process: an 'error' event with no listener would kill this test process.
  const built = buildBundle({
    zip: [{ name: 'a.json', data: '{"a":1}\n'.repeat(50), attr: 0o100644, lieSize: 8 }, { name: 'c.txt', data: 'no target\n' }],
    tweak: (m) => {
      const c = m.files[0]!.unpack!.files.find((x) => x.entry === 'a.json')!;
      c.bytes = 8;
    },
  });
  const root = newRoot();
  const staged = stage(root, built);
  const before = tree(root);
  const script = `
    import { installBundle } from ${JSON.stringify(new URL('../../src/release/install.js', import.meta.url).href)};
    import { parseSums } from ${JSON.stringify(new URL('../../src/release/store.js', import.meta.url).href)};
    import fs from 'node:fs';
    const [root, dir] = process.argv.slice(1);
    process.on('uncaughtException', (e) => { console.log(JSON.stringify({ uncaught: e.message })); process.exit(3); });
    const staged = { dir, manifest: JSON.parse(fs.readFileSync(dir + '/manifest.json', 'utf8')), sums: parseSums(fs.readFileSync(dir + '/SHA256SUMS', 'utf8'), 't') };
    const lock = new Map([['train', { fingerprint: 'other' }], ['metrics', { fingerprint: ${JSON.stringify(FP_M)} }]]);
    try {
      const r = await installBundle(root, staged, lock, 'LABEL');
      console.log(JSON.stringify({ report: r }));
    } catch (e) {
      console.log(JSON.stringify({ error: e.name, message: e.message }));
    }
    await new Promise((res) => setTimeout(res, 300));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, root, staged.dir], { encoding: 'utf8' });
  const lines = child.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { uncaught?: string; error?: string; message?: string; report?: InstallReport });
  assert.equal(child.stderr, '');
  assert.deepEqual(lines.filter((l) => l.uncaught), [], 'an uncaught error escaped installBundle');
  assert.equal(child.status, 0);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.error, 'TransferError', JSON.stringify(lines[0]));
  assert.match(lines[0]!.message!, /^LABEL: metrics\.zip: the entry "a\.json" cannot be read \(too many bytes in the stream/);
  assert.deepEqual(tree(root), before);
});

// ---------------------------------------------------------------------------------------------
// Downloading: names and manifests from a store are checked before anything is used.

/** A store over a local folder: the transport is not what these tests are about. */
class FolderStore implements ReleaseStore {
  readonly label = 'FOLDER';
  constructor(private readonly dir: string) {}
  async sizes(names: string[]): Promise<Map<string, number>> {
    return new Map(names.filter((n) => fs.existsSync(path.join(this.dir, n))).map((n) => [n, fs.statSync(path.join(this.dir, n)).size]));
  }
  async readText(name: string): Promise<string | undefined> {
    return fs.existsSync(path.join(this.dir, name)) ? fs.readFileSync(path.join(this.dir, name), 'utf8') : undefined;
  }
  async put(): Promise<void> {}
  async verify(): Promise<string[]> {
    return [];
  }
  async remove(): Promise<void> {}
  async get(name: string, destAbs: string): Promise<void> {
    const src = path.join(this.dir, name);
    if (!fs.existsSync(src)) throw new TransferError(`FOLDER: ${name} is not there`);
    fs.cpSync(src, destAbs, { recursive: true });
  }
  putCommands(): string[] {
    return [];
  }
}

/** A built bundle whose SHA256SUMS is rewritten to list what `edit` leaves in the folder. */
function resum(dir: string): void {
  const names = fs.readdirSync(dir).filter((n) => n !== 'SHA256SUMS' && fs.statSync(path.join(dir, n)).isFile()).sort();
  fs.writeFileSync(path.join(dir, 'SHA256SUMS'), names.map((n) => `${sha(fs.readFileSync(path.join(dir, n)))}  ${n}\n`).join(''));
}

async function refusedDownload(dir: string, re: RegExp): Promise<void> {
  const root = newRoot();
  const to = path.join(root, '.sbuild', 'fetch', 'x', 'bundle');
  await assert.rejects(downloadBundle(new FolderStore(dir), to, { signal: new AbortController().signal, line: () => {}, progress: () => {} }), (err: unknown) => {
    assert.ok(err instanceof TransferError, String(err));
    assert.match((err as Error).message, re);
    return true;
  });
  assert.equal(fs.existsSync(to), false, 'the staging folder is removed');
}

test('downloadBundle: a dot file in SHA256SUMS (.git, .envrc) is refused before anything is placed', async () => {
  for (const name of ['.git', '.envrc']) {
    const dir = buildBundle();
    fs.writeFileSync(path.join(dir, name), 'gitdir: ../../../evil\n');
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ReleaseManifest;
    m.files.push({ path: name, bytes: 22, sha256: sha('gitdir: ../../../evil\n'), source: null as unknown as string, target: null, fingerprint: null });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    resum(dir);
    await refusedDownload(dir, new RegExp(`SHA256SUMS lists "${name.replace('.', '\\.')}", which is not a plain file name \\(no folders, no leading dot\\)`));
  }
});

test('downloadBundle: a manifest of another shape is refused with what is wrong, not a crash', async () => {
  const cases: Array<[(m: Record<string, unknown>) => unknown, RegExp]> = [
    [(m) => ({ ...m, commit: 123 }), /`commit` is not a string or null/],
    [(m) => ({ ...m, files: undefined }), /`files` is not a list/],
    [() => null, /it is not an object/],
    [(m) => ({ ...m, files: [{ ...(m.files as object[])[0], unpack: { base: 'artifacts/runs', files: [null] } }, (m.files as object[])[1]] }), /files\[0\]\.unpack\.files\[0\] lacks/],
  ];
  for (const [edit, re] of cases) {
    const dir = buildBundle();
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(edit(m)));
    resum(dir);
    await refusedDownload(dir, re);
  }
  // SHA256SUMS that is a folder on the store.
  const dir = buildBundle();
  fs.rmSync(path.join(dir, 'SHA256SUMS'));
  fs.mkdirSync(path.join(dir, 'SHA256SUMS'));
  await refusedDownload(dir, /SHA256SUMS is not a file there/);
});

test('installBundle: with the graph, a path no target declares, or another target\'s output, is refused; a target the bundle brings only part of is incomplete', async () => {
  const owners: Record<string, string> = { 'artifacts/metrics.zip': 'metrics', 'artifacts/release/v1': 'bundle', 'artifacts/runs/a.json': 'train', 'artifacts/runs/sub': 'eval', 'docs': 'docs' };
  const ownerOf = (rel: string) => Object.entries(owners).find(([o]) => rel === o || rel.startsWith(o + '/'))?.[1];
  const built = buildBundle();
  // c.txt (no target in the manifest) lies in no declared output here.
  const root = newRoot();
  const before = tree(root);
  await assert.rejects(installBundle(root, stage(root, built), lockOf(), 'LABEL', { ownerOf }), /manifest\.json puts metrics\.zip's entry "c\.txt" at "artifacts\/runs\/c\.txt", which no target here declares as an output; the bundle is refused/);
  assert.deepEqual(tree(root), { ...before, ...Object.fromEntries(Object.entries(tree(root)).filter(([k]) => k.startsWith('.sbuild'))) });
  // a.json said to be train's, but here eval's.
  owners['artifacts/runs'] = 'eval';
  delete owners['artifacts/runs/a.json'];
  const root2 = newRoot();
  await assert.rejects(installBundle(root2, stage(root2, built), lockOf(), 'LABEL', { ownerOf }), /says "artifacts\/runs\/a\.json" was built by train, but here it is an output of eval/);
  // Everything owned: placed; train's second recorded output is not in the bundle.
  const ok = (rel: string) => (rel.startsWith('artifacts/runs/') ? (rel === 'artifacts/runs/a.json' ? 'train' : rel.startsWith('artifacts/runs/sub') ? 'eval' : 'misc') : ownerOf(rel));
  const root3 = newRoot();
  const outputsOf = (t: string) => (t === 'train' ? ['artifacts/runs/a.json', 'artifacts/runs/train.log'] : t === 'eval' ? ['artifacts/runs/sub'] : undefined);
  const r = await installBundle(root3, stage(root3, built), lockOf(), 'LABEL', { ownerOf: (rel) => (rel === 'artifacts/runs/c.txt' ? 'misc' : ok(rel)), outputsOf });
  assert.deepEqual(r.incomplete, ['train']);
  assert.deepEqual(r.matching, ['eval', 'metrics', 'train']);
});

test('HttpStore: a token is never sent over plain http to another machine; it is to loopback and over https', async () => {
  process.env.SBUILD_TEST_TOKEN = 'tok-123';
  try {
    const far = new HttpStore('http://example.org/rel/v1/', 'SBUILD_TEST_TOKEN');
    await assert.rejects(far.sizes(['a'], new AbortController().signal), /the token in \$SBUILD_TEST_TOKEN is not sent over plain http to example\.org .*use an https:\/\/ URL\./);
    await assert.rejects(far.readText('SHA256SUMS', new AbortController().signal), /not sent over plain http/);
    // Loopback over http is allowed: the request is made (nothing listens on port 9 there).
    const near = new HttpStore('http://127.0.0.1:9/rel/', 'SBUILD_TEST_TOKEN');
    await assert.rejects(near.sizes(['a'], new AbortController().signal), /could not be reached/);
    // No variable named: no token, nothing refused for it.
    const none = new HttpStore('http://127.0.0.1:9/rel/', undefined);
    assert.match(none.putCommands([{ name: 'a.zip', localAbs: 'x/a.zip' }])[0]!, /^PUT http:\/\/127\.0\.0\.1:9\/rel\/a\.zip ← x\/a\.zip \(without a token\)$/);
  } finally {
    delete process.env.SBUILD_TEST_TOKEN;
  }
});

test('safeDestination: a folder the config declares as linked (linkedFolders) is written through, wherever it leads', () => {
  const { root, outside } = workspace();
  fs.symlinkSync(outside, path.join(root, 'scratch'));
  const real = fs.realpathSync(root);
  assert.throws(() => safeDestination(root, real, 'scratch/ckpt.pth', 'W'), /would be written through the symbolic link scratch → .* outside the workspace/);
  allowLinkedFolders(root, ['scratch']);
  try {
    assert.equal(safeDestination(root, real, 'scratch/ckpt.pth', 'W'), path.join(root, 'scratch/ckpt.pth'));
    // Only that folder: another link out is still refused.
    fs.symlinkSync(outside, path.join(root, 'other'));
    assert.throws(() => safeDestination(root, real, 'other/x', 'W'), /symbolic link other → /);
  } finally {
    allowLinkedFolders(root, []);
  }
});
