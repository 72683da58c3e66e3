// The start of every command that writes in a workspace: its writer lock (none for a dry run,
// which writes nothing but the stat cache), sbuild.lock read again when another build finished
// between reading it and taking the lock, and jobs that a killed build left running stopped
// before anything else happens (src/executors/jobs.ts).
import type { Workspace } from '../../engine/workspace.js';
import { acquireWriterLock, type WriterLock } from '../../engine/writer-lock.js';
import { recoverWorkspace } from '../../executors/jobs.js';
import type { Options } from '../args.js';

export interface Writing {
  writer: WriterLock | undefined;
  /** One line about what a killed build left and what was done about it; undefined: nothing. */
  recovered: string | undefined;
}

export async function beginWriting(ws: Workspace, opts: Pick<Options, 'dryRun' | 'wait'>): Promise<Writing> {
  if (opts.dryRun) return { writer: undefined, recovered: undefined };
  const writer = await acquireWriterLock(ws.root, { wait: opts.wait, onWait: (m) => process.stderr.write(m + '\n') });
  if (writer.waited || ws.lockChanged()) ws.reloadLock();
  return { writer, recovered: await recoverWorkspace(ws) };
}
