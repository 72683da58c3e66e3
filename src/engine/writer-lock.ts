// One writer per workspace: `.sbuild/writer.pid`, created exclusively. A second build waits
// (saying for whom) or, with --no-wait, exits 2; a lock left by a dead process is taken over.
// Read-only commands (status, explain, list, graph) never take it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SbuildError } from '../errors.js';

export interface WriterLock {
  /** True when another sbuild held the workspace first (its results are now in sbuild.lock). */
  waited: boolean;
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

export async function acquireWriterLock(root: string, opts: { wait: boolean; onWait: (msg: string) => void }): Promise<WriterLock> {
  const file = path.join(root, '.sbuild', 'writer.pid');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() } satisfies Holder));
      fs.closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
          if (h.pid === process.pid) fs.rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
      process.once('exit', release);
      return { waited: announced, release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(file);
    if (!holder || (holder.host === os.hostname() && !alive(holder.pid))) {
      // A crashed sbuild (or a torn write): take the lock over.
      fs.rmSync(file, { force: true });
      continue;
    }
    const who = `sbuild (pid ${holder.pid}${holder.host !== os.hostname() ? ` on ${holder.host}` : ''}, since ${holder.since})`;
    if (!opts.wait) {
      throw new SbuildError('workspace-busy', `Another ${who} is building in this workspace (${root}). Wait for it to finish, stop it, or run without --no-wait to wait.`);
    }
    if (!announced) {
      opts.onWait(`waiting for ${who} to finish building in this workspace…`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
