// `sbuild clean [targets…]`: delete declared outputs and logs. sbuild.lock is kept, so the
// record of what committed results were built from survives; `status` then says "missing".
import fs from 'node:fs';
import path from 'node:path';
import type { Workspace } from '../../engine/workspace.js';
import type { Options } from '../args.js';
import { roots } from './build.js';
import { acquireWriterLock } from '../../engine/writer-lock.js';

export async function clean(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const ids = roots(ws, opts.targets, true);
  const writer = opts.dryRun ? undefined : await acquireWriterLock(ws.root, { wait: opts.wait, onWait: (m) => process.stderr.write(m + '\n') });
  let removed = 0;
  for (const id of ids) {
    const n = ws.graph.nodes[id]!;
    for (const o of n.outputs) {
      const abs = path.join(ws.root, o);
      if (fs.existsSync(abs)) {
        if (opts.dryRun) out(`would remove ${o}`);
        else fs.rmSync(abs, { recursive: true, force: true });
        removed++;
      }
    }
    if (!opts.dryRun) fs.rmSync(ws.logFile(n.name), { force: true });
  }
  writer?.release();
  out(`sbuild: ${opts.dryRun ? 'would remove' : 'removed'} ${removed} output(s)`);
  return 0;
}
