// A release store on any rclone remote (S3 and compatible stores, Google Drive, Dropbox,
// WebDAV, SFTP, …), driven through the user's own `rclone` binary and config.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { TransferError, type Progress, type ReleaseStore } from './store.js';
import { quoteArg } from '../hashing/fingerprint.js';

/** rclone's exit codes for "directory not found" and "file not found". */
const NOT_FOUND = new Set([3, 4]);

export class RcloneStore implements ReleaseStore {
  readonly label: string;
  private readonly base: string;

  constructor(
    private readonly remote: string,
    private readonly folder: string,
  ) {
    this.base = `${remote}:${folder}`;
    this.label = `rclone:${this.base}`;
  }

  private at(name: string): string {
    return this.folder === '' ? `${this.remote}:${name}` : `${this.base}/${name}`;
  }

  private async rclone(args: string[], signal: AbortSignal, opts: { input?: string; allowNotFound?: boolean; allowDifferences?: boolean } = {}) {
    let res;
    try {
      res = await execa('rclone', args, { reject: false, cancelSignal: signal, ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' }), env: { RCLONE_ASK_PASSWORD: 'false' } });
    } catch (err) {
      throw this.failure(err);
    }
    if ((res as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String(res.originalMessage ?? ''))) throw missingRclone();
    if (res.isCanceled) throw new TransferError(`${this.label}: interrupted`);
    if (res.exitCode !== 0 && !(opts.allowNotFound && NOT_FOUND.has(res.exitCode ?? -1)) && !(opts.allowDifferences && res.exitCode === 1)) {
      throw new TransferError(`${this.label}: \`rclone ${args[0]}\` failed (exit ${res.exitCode}): ${lastLines(String(res.stderr))}${hint(String(res.stderr), this.remote)}`);
    }
    return res;
  }

  private failure(err: unknown): Error {
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'ENOENT') return missingRclone();
    return new TransferError(`${this.label}: could not run rclone: ${e?.message ?? String(err)}`);
  }

  async sizes(names: string[], signal: AbortSignal): Promise<Map<string, number>> {
    const res = await this.rclone(['lsjson', '--files-only', '--no-modtime', '--no-mimetype', this.base], signal, { allowNotFound: true });
    const out = new Map<string, number>();
    if (res.exitCode !== 0) return out; // no such folder yet
    let list: Array<{ Path?: string; Size?: number }>;
    try {
      list = JSON.parse(String(res.stdout)) as typeof list;
    } catch {
      throw new TransferError(`${this.label}: rclone lsjson printed something that is not JSON`);
    }
    const wanted = new Set(names);
    for (const f of list) if (typeof f.Path === 'string' && wanted.has(f.Path) && typeof f.Size === 'number') out.set(f.Path, f.Size);
    return out;
  }

  async readText(name: string, signal: AbortSignal): Promise<string | undefined> {
    const res = await this.rclone(['cat', this.at(name)], signal, { allowNotFound: true });
    return res.exitCode === 0 ? String(res.stdout) + (String(res.stdout).endsWith('\n') || res.stdout === '' ? '' : '\n') : undefined;
  }

  async put(localAbs: string, name: string, bytes: number, progress: Progress, signal: AbortSignal): Promise<void> {
    await this.transfer(['copyto', localAbs, this.at(name)], bytes, progress, signal);
  }

  async get(name: string, destAbs: string, progress: Progress, signal: AbortSignal): Promise<void> {
    await this.transfer(['copyto', this.at(name), destAbs], undefined, progress, signal);
    if (!fs.existsSync(destAbs)) throw new TransferError(`${this.label}: ${name} is not there`, { notThere: true });
  }

  /** A copy with rclone's JSON stats every half second turned into progress. */
  private async transfer(args: string[], total: number | undefined, progress: Progress, signal: AbortSignal): Promise<void> {
    let child: ResultPromise;
    try {
      // --ignore-times: always send. Without it rclone skips a file whose size (and time, where
      // the remote keeps one) match, and a changed zip of the same size would never arrive.
      child = execa('rclone', [...args, '--ignore-times', '--retries', '1', '--use-json-log', '--stats', '500ms', '--stats-log-level', 'NOTICE'], { reject: false, cancelSignal: signal, stdin: 'ignore', env: { RCLONE_ASK_PASSWORD: 'false' } });
    } catch (err) {
      throw this.failure(err);
    }
    const errors: string[] = [];
    let buf = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const j = JSON.parse(line) as { level?: string; msg?: string; stats?: { bytes?: number; totalBytes?: number } };
          if (j.stats && typeof j.stats.bytes === 'number') progress(j.stats.bytes, total ?? j.stats.totalBytes);
          else if (j.level === 'error' || j.level === 'critical') errors.push(String(j.msg ?? '').trim());
        } catch {
          if (line.trim()) errors.push(line.trim());
        }
      }
    });
    const res = await child;
    if ((res as { code?: string }).code === 'ENOENT') throw missingRclone();
    if (res.isCanceled) throw new TransferError(`${this.label}: interrupted`);
    if (res.exitCode !== 0) {
      const why = errors.filter(Boolean).slice(-3).join('; ') || lastLines(buf) || `exit ${res.exitCode}`;
      throw new TransferError(`${this.label}: \`rclone ${args[0]} ${path.basename(args[1]!)}\` failed: ${why}${hint(why, this.remote)}`, { notThere: NOT_FOUND.has(res.exitCode ?? -1) });
    }
  }

  async verify(files: Array<{ name: string; sha256: string; bytes: number }>, signal: AbortSignal): Promise<string[]> {
    if (files.length === 0) return [];
    // Against the hashes recorded for what was sent (a SUM file), not the local folder as it
    // is now: `rclone checksum`, on the remote's own SHA-256 where it has one, else by
    // downloading and hashing.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-rclone-'));
    try {
      const sums = path.join(dir, 'SHA256SUMS');
      fs.writeFileSync(sums, files.map((f) => `${f.sha256}  ${f.name}\n`).join(''));
      const check = async (download: boolean) =>
        this.rclone(['checksum', 'sha256', sums, this.base, '--one-way', '--combined', '-', ...(download ? ['--download'] : [])], signal, { allowNotFound: true, allowDifferences: true });
      let res = await check(false);
      if (/hash type is not supported|not supported by file system|hashes could not be checked/.test(String(res.stderr))) res = await check(true);
      return this.problems(res, files);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  private problems(res: { stdout: unknown; stderr: unknown; exitCode?: number }, files: Array<{ name: string }>): string[] {
    const problems: string[] = [];
    const same = new Set<string>();
    for (const line of String(res.stdout).split('\n')) {
      const m = /^([=\-+*!]) (.+)$/.exec(line);
      if (!m) continue;
      if (m[1] === '=') {
        same.add(m[2]!);
        continue;
      }
      problems.push(`${m[2]}: ${m[1] === '+' ? 'missing at the destination' : m[1] === '*' ? 'differs from what was sent' : m[1] === '!' ? 'could not be read back' : 'unexpected'}`);
    }
    // Every file sent must be reported the same, by name: nothing is taken for checked.
    for (const f of files) if (!same.has(f.name) && !problems.some((p) => p.startsWith(`${f.name}: `))) problems.push(`${f.name}: not confirmed by rclone`);
    if (problems.length === 0 && res.exitCode !== 0) problems.push(`rclone check failed (exit ${res.exitCode}): ${lastLines(String(res.stderr))}`);
    return problems;
  }

  async remove(name: string, signal: AbortSignal): Promise<void> {
    await this.rclone(['deletefile', this.at(name)], signal, { allowNotFound: true });
  }

  putCommands(files: Array<{ name: string; localAbs: string }>): string[] {
    return files.map((f) => ['rclone', 'copyto', f.localAbs, this.at(f.name)].map(quoteArg).join(' '));
  }
}

function missingRclone(): TransferError {
  return new TransferError('rclone is not installed (or not on PATH): install it (`apt-get install rclone`, or https://rclone.org/install/) and define the remote with `rclone config`.');
}

function lastLines(text: string): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => !/NOTICE: Config file .* not found/.test(l))
    .slice(-2)
    .map((l) => l.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '').trim())
    .join('; ');
}

function hint(text: string, remote: string): string {
  if (/didn't find section in config file/.test(text)) return ` (no remote named '${remote}' in your rclone config: define it with \`rclone config\`, or check $RCLONE_CONFIG)`;
  if (/connection refused|no such host|dial tcp|i\/o timeout/i.test(text)) return ' (the server could not be reached)';
  return '';
}
