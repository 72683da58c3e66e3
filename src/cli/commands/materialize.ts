// `sbuild materialize [targets…]`: writes the missing outputs of targets that know how to
// recreate them from committed results (their `materialize` hook, e.g. a metrics JSON from
// its row of the paper table), without running them. Existing outputs are never touched.
// Nothing is recorded: `sbuild adopt` records what is then on disk.
import fs from 'node:fs';
import path from 'node:path';
import type { MaterializeContext } from '../../config/types.js';
import { SbuildError } from '../../errors.js';
import { select } from '../../graph/select.js';
import type { Workspace } from '../../engine/workspace.js';
import { beginWriting } from './writing.js';
import { removeSnapshot } from '../../engine/noop-snapshot.js';
import { writablePath, writeFileAtomicAsync } from '../../util/fs.js';
import type { Options } from '../args.js';

export async function materialize(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const withHook = ws.graph.nodes.filter((n) => n.target.materialize);
  const chosen = opts.targets.length ? new Set(select(ws.graph, opts.targets)) : undefined;
  const nodes = withHook.filter((n) => !chosen || chosen.has(n.id));
  if (!nodes.length) {
    throw new SbuildError('usage', chosen
      ? `None of the selected targets can be materialized (no \`materialize\` hook). Targets that can: ${withHook.map((n) => n.name).slice(0, 8).join(', ') || '(none)'}.`
      : 'No target in this workspace has a `materialize` hook; the experiment rule adds one to its evaluations.');
  }
  const { writer, recovered } = await beginWriting(ws, opts);
  if (recovered) out(`warning: ${recovered}`);
  const problems: string[] = [];
  let written = 0;
  try {
    for (const node of nodes) {
      const missing = node.outputs.filter((o) => !fs.existsSync(path.join(ws.root, o)));
      if (!missing.length) continue;
      if (opts.dryRun) {
        out(`would materialize  ${node.name} → ${missing.join(', ')}`);
        written++;
        continue;
      }
      const logLines: string[] = [];
      const ctx: MaterializeContext = {
        name: node.name,
        root: ws.root,
        outputs: missing,
        params: node.target.params ?? {},
        log: (line) => void logLines.push(line),
        path: (rel) => path.resolve(ws.root, rel),
        writeFile: async (rel, data) => {
          // Only missing declared outputs may be written: materializing never overwrites results.
          if (!missing.includes(rel)) throw new SbuildError('usage', `the materialize hook of '${node.name}' tried to write '${rel}', which is not one of its missing outputs (${missing.join(', ')}).`);
          await writeFileAtomicAsync(writablePath(ws.root, rel, node.name), data);
        },
      };
      try {
        await node.target.materialize!(ctx);
      } catch (err) {
        problems.push(`${node.name}: ${(err as Error).message}`);
        continue;
      }
      const still = missing.filter((o) => !fs.existsSync(path.join(ws.root, o)));
      if (still.length) problems.push(`${node.name}: the hook did not write ${still.join(', ')}`);
      else {
        written++;
        out(`materialized  ${node.name} → ${missing.join(', ')}`);
      }
    }
    if (written && !opts.dryRun) removeSnapshot(ws.root);
  } finally {
    writer?.release();
  }
  for (const p of problems) out(`not materialized  ${p}`);
  out(`sbuild: ${opts.dryRun ? 'would materialize' : 'materialized'} ${written} target(s)${problems.length ? `, ${problems.length} could not be` : ''}${written && !opts.dryRun ? '; `sbuild adopt <targets>` records them as fresh' : ''}`);
  return problems.length ? 2 : 0;
}
