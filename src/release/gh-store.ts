// A release store on GitHub Releases, driven through the user's `gh` (authenticated the way
// gh already is: `gh auth login` or $GH_TOKEN). The release's assets are the bundle's files.
import fs from 'node:fs';
import { execa } from 'execa';
import { TransferError, type Progress, type ReleaseStore } from './store.js';
import { quoteArg } from '../hashing/fingerprint.js';

interface GhAsset {
  name: string;
  size: number;
}

export class GhStore implements ReleaseStore {
  readonly label: string;
  private exists: boolean | undefined;

  constructor(
    private readonly repo: string,
    private readonly tag: string,
  ) {
    this.label = `gh:${repo}@${tag}`;
  }

  private async gh(args: string[], signal: AbortSignal, allowMissing = false) {
    let res;
    try {
      res = await execa('gh', args, { reject: false, cancelSignal: signal, stdin: 'ignore', env: { GH_PROMPT_DISABLED: '1', NO_COLOR: '1' } });
    } catch (err) {
      throw (err as NodeJS.ErrnoException)?.code === 'ENOENT' ? missingGh() : new TransferError(`${this.label}: could not run gh: ${(err as Error).message}`);
    }
    if ((res as { code?: string }).code === 'ENOENT') throw missingGh();
    if (res.isCanceled) throw new TransferError(`${this.label}: interrupted`);
    const err = String(res.stderr).trim();
    if (res.exitCode !== 0 && !(allowMissing && /release not found|not found/i.test(err))) {
      throw new TransferError(`${this.label}: \`gh ${args.slice(0, 2).join(' ')}\` failed: ${err.split('\n').slice(-2).join('; ') || `exit ${res.exitCode}`}${/auth login|authentication/i.test(err) ? ' (log in with `gh auth login`, or set $GH_TOKEN)' : ''}`);
    }
    return res;
  }

  private async assets(signal: AbortSignal): Promise<GhAsset[] | undefined> {
    const res = await this.gh(['release', 'view', this.tag, '--repo', this.repo, '--json', 'assets'], signal, true);
    if (res.exitCode !== 0) {
      this.exists = false;
      return undefined;
    }
    this.exists = true;
    try {
      return (JSON.parse(String(res.stdout)) as { assets: GhAsset[] }).assets;
    } catch {
      throw new TransferError(`${this.label}: gh printed something that is not JSON`);
    }
  }

  async sizes(names: string[], signal: AbortSignal): Promise<Map<string, number>> {
    // GitHub renames assets with other characters, gh reads '#' in a path as a label and
    // '--pattern' as a glob: such a name could never be checked, so it is refused up front.
    const bad = names.filter((n) => !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(n));
    if (bad.length) throw new TransferError(`${this.label}: GitHub release assets need plain names (letters, digits, '.', '_', '+', '-'); rename ${bad.map((n) => JSON.stringify(n)).join(', ')}.`);
    const wanted = new Set(names);
    const out = new Map<string, number>();
    for (const a of (await this.assets(signal)) ?? []) if (wanted.has(a.name)) out.set(a.name, a.size);
    return out;
  }

  async readText(name: string, signal: AbortSignal): Promise<string | undefined> {
    const have = await this.assets(signal);
    if (!have?.some((a) => a.name === name)) return undefined;
    const res = await this.gh(['release', 'download', this.tag, '--repo', this.repo, '--pattern', name, '--output', '-'], signal);
    return String(res.stdout);
  }

  async prepare(release: { commit: string | null; version: string }, signal: AbortSignal): Promise<void> {
    if (this.exists === undefined) await this.assets(signal);
    if (this.exists) return;
    await this.gh(this.createArgs(release), signal);
    this.exists = true;
  }

  private createArgs(release: { commit: string | null; version: string }): string[] {
    return ['release', 'create', this.tag, '--repo', this.repo, '--title', release.version, '--notes', `Release bundle ${release.version} (manifest.json lists each file, the target that built it and its source commit).`, ...(release.commit ? ['--target', release.commit] : [])];
  }

  async put(localAbs: string, _name: string, bytes: number, progress: Progress, signal: AbortSignal): Promise<void> {
    // gh shows no machine-readable progress: the file counts as sent when gh returns.
    await this.gh(['release', 'upload', this.tag, localAbs, '--repo', this.repo, '--clobber'], signal);
    progress(bytes, bytes);
  }

  async get(name: string, destAbs: string, progress: Progress, signal: AbortSignal): Promise<void> {
    await this.gh(['release', 'download', this.tag, '--repo', this.repo, '--pattern', name, '--output', destAbs], signal);
    const st = fs.statSync(destAbs, { throwIfNoEntry: false });
    if (!st) throw new TransferError(`${this.label}: ${name} is not there`, { notThere: true });
    progress(st.size, st.size);
  }

  async remove(name: string, signal: AbortSignal): Promise<void> {
    const have = await this.assets(signal);
    if (!have?.some((a) => a.name === name)) return;
    await this.gh(['release', 'delete-asset', this.tag, name, '--repo', this.repo, '--yes'], signal);
  }

  async verify(files: Array<{ name: string; sha256: string; bytes: number }>, signal: AbortSignal): Promise<string[]> {
    // GitHub stores what it received whole or not at all: the sizes it lists are compared.
    const have = new Map(((await this.assets(signal)) ?? []).map((a) => [a.name, a.size]));
    return files.flatMap((f) => (!have.has(f.name) ? [`${f.name}: missing at the destination`] : have.get(f.name) !== f.bytes ? [`${f.name}: ${have.get(f.name)} bytes there, ${f.bytes} sent`] : []));
  }

  putCommands(files: Array<{ name: string; localAbs: string }>, release: { commit: string | null; version: string }): string[] {
    const line = (args: string[]) => ['gh', ...args].map(quoteArg).join(' ');
    return [
      // Unknown (gh could not be asked) counts as absent: the release would be created first.
      ...(this.exists !== true ? [line(this.createArgs(release))] : []),
      ...files.map((f) => line(['release', 'upload', this.tag, f.localAbs, '--repo', this.repo, '--clobber'])),
    ];
  }
}

function missingGh(): TransferError {
  return new TransferError('gh (the GitHub CLI) is not installed or not on PATH: install it (https://cli.github.com, or `apt-get install gh`) and log in with `gh auth login`.');
}

