// `sbuild clean [targets…]`: delete declared outputs and logs. sbuild.lock is kept, so the
// record of what committed results were built from survives; `status` then says "missing".
// Only what resolves inside the workspace is deleted: an output reached through a link that
// leads elsewhere is skipped with a message, and clean exits 1. An output that is itself a
// link is deleted as a link (what it points to stays).
import fs from 'node:fs';
import path from 'node:path';
import type { Workspace } from '../../engine/workspace.js';
import type { Options } from '../args.js';
import { roots } from '../../engine/selection.js';
import { beginWriting } from './writing.js';
import { escapeMessage, lexists, outputEscape } from '../../util/fs.js';

export async function clean(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const ids = roots(ws, opts.targets, true);
  // Jobs a killed build left running would write again what this deletes: they are stopped first.
  const { writer, recovered } = await beginWriting(ws, opts);
  let removed = 0;
  let skipped = 0;
  try {
    if (recovered) process.stderr.write(`warning: ${recovered}\n`);
    for (const id of ids) {
      const n = ws.graph.nodes[id]!;
      for (const o of n.outputs) {
        const abs = path.join(ws.root, o);
        if (!lexists(abs)) continue;
        const escape = outputEscape(ws.root, o);
        if (escape) {
          skipped++;
          process.stderr.write(`sbuild: ${escapeMessage(escape, ws.root, `not removing the output '${o}' of target '${n.name}'`)}\n`);
          continue;
        }
        if (opts.dryRun) out(`would remove ${o}`);
        else fs.rmSync(abs, { recursive: true, force: true });
        removed++;
      }
      if (!opts.dryRun) fs.rmSync(ws.logFile(n.name), { force: true });
    }
  } finally {
    writer?.release();
  }
  const verb = opts.dryRun ? 'would remove' : 'removed';
  out(`sbuild: ${verb} ${removed} output(s)${skipped ? `; skipped ${skipped} that resolve(s) outside the workspace` : ''}`);
  return skipped ? 1 : 0;
}
