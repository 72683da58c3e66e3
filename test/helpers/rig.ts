// Integration rig: a temp workspace with sbuild linked in as a package, driven through the
// real CLI (bin/sbuild.js) in a child process. Test commands append to `runs.log`, so a test
// asserts exactly which targets ran.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { WorkspaceFiles } from './files.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(REPO, 'bin', 'sbuild.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Rig extends WorkspaceFiles {
  private readonly top: string;

  /** `name`: the workspace is a folder of that name (some outputs show it) below the temp dir. */
  constructor(name?: string) {
    const top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-test-')));
    super(name ? path.join(top, name) : top);
    this.top = top;
    fs.mkdirSync(path.join(this.top, 'node_modules'));
    fs.symlinkSync(REPO, path.join(this.top, 'node_modules', 'sbuild'), 'dir');
    fs.mkdirSync(this.dir, { recursive: true });
  }

  /** Writes tasks.config.ts from the body of the object passed to defineConfig. */
  config(body: string, prelude = ''): void {
    this.write('tasks.config.ts', `import { defineConfig } from 'sbuild';\n${prelude}\nexport default defineConfig(${body});\n`);
  }

  run(args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      cwd: this.dir,
      encoding: 'utf8',
      env: { ...process.env, CI: '1', ...env },
      timeout: 120_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Starts the CLI without waiting (for signal tests). */
  spawn(args: string[], env: NodeJS.ProcessEnv = {}) {
    return spawn(process.execPath, [CLI, ...args], { cwd: this.dir, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Lines of runs.log (each test command appends its target's name), then clears it. */
  takeRuns(): string[] {
    if (!this.exists('runs.log')) return [];
    const lines = this.read('runs.log').split('\n').filter(Boolean);
    fs.rmSync(this.path('runs.log'));
    return lines.sort();
  }

  /** Sets a file's mtime into the past so the stat cache trusts it (as files edited long ago are). */
  age(rel: string, seconds = 10): void {
    const t = new Date(Date.now() - seconds * 1000);
    fs.utimesSync(this.path(rel), t, t);
  }

  /**
   * A file of the one build registered in `.sbuild/builds/` (engine/live-builds.ts): its journal,
   * jobs record or registration, relative to the workspace; undefined while there is none.
   */
  buildFile(kind: 'journal' | 'jobs' | 'registration'): string | undefined {
    const ext = kind === 'journal' ? /^\d+-[0-9a-f]+\.jsonl$/ : kind === 'jobs' ? /\.jobs\.jsonl$/ : /\.json$/;
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.path('.sbuild/builds')).filter((n) => ext.test(n));
    } catch {
      return undefined;
    }
    if (names.length > 1) throw new Error(`more than one build's ${kind} in .sbuild/builds: ${names.join(', ')}`);
    return names[0] && `.sbuild/builds/${names[0]}`;
  }

  cleanup(): void {
    fs.rmSync(this.top, { recursive: true, force: true });
  }
}

/** What a spawned CLI printed, and its exit code, once it closes. */
export function collect(child: ChildProcess): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}

/** A shell command that logs `name` to runs.log, then runs `body`. */
export function sh(name: string, body: string): string {
  return `echo ${name} >> runs.log; ${body}`;
}

/** Two targets apart from each other, p (p.txt → out/p.txt) and q (q.txt → out/q.txt), and `all` over both. */
export function twoCopies(r: Rig): void {
  r.write('p.txt', 'p\n');
  r.write('q.txt', 'q\n');
  r.config(`{
    default: 'all',
    targets: [
      { name: 'p', inputs: ['p.txt'], outputs: ['out/p.txt'], run: ${JSON.stringify(sh('p', 'cp p.txt out/p.txt'))} },
      { name: 'q', inputs: ['q.txt'], outputs: ['out/q.txt'], run: ${JSON.stringify(sh('q', 'cp q.txt out/q.txt'))} },
      { name: 'all', deps: ['p', 'q'] },
    ],
  }`);
}

/** A maker of rigs that are all removed when the test file ends. */
export function useRigs(): (name?: string) => Rig {
  const rigs: Rig[] = [];
  after(() => rigs.forEach((r) => r.cleanup()));
  return (name?: string) => {
    const r = new Rig(name);
    rigs.push(r);
    return r;
  };
}

/**
 * `kill -9` of a running sbuild and of the job processes it started (found by `pgrep -f
 * pattern` before sbuild dies; each is killed with its process group, as a crash of the
 * whole session would). Resolves once sbuild has exited.
 */
export async function killWithJobs(child: ChildProcess, pattern: string, within?: string): Promise<void> {
  const exited = new Promise((res) => child.on('exit', res));
  // Only processes working in this test's workspace (`within`): tests run side by side.
  const ours = (pid: string) => {
    if (!within) return true;
    try {
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      return cwd === within || cwd.startsWith(within + '/');
    } catch {
      return false;
    }
  };
  const pids = spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).filter(ours);
  child.kill('SIGKILL');
  for (const p of pids) {
    try {
      process.kill(-Number(p), 'SIGKILL');
    } catch {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    }
  }
  await exited;
}

/** Polls until `pred` holds; a file caught between removal and rewrite counts as "not yet". */
export async function waitFor(pred: () => boolean, ms = 20_000): Promise<void> {
  const safe = () => {
    try {
      return pred();
    } catch {
      return false;
    }
  };
  const t0 = Date.now();
  while (!safe()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Moves every mtime in a workspace (but sbuild's state and node_modules) 10 s into the past: files edited long ago. */
export function ageAll(dir: string): void {
  const past = new Date(Date.now() - 10_000);
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === '.sbuild') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      // A link is aged itself: what it leads to may be absent.
      if (e.isSymbolicLink()) fs.lutimesSync(p, past, past);
      else fs.utimesSync(p, past, past);
    }
    fs.utimesSync(d, past, past);
  };
  walk(dir);
}
