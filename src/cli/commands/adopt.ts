// `sbuild adopt <targets…>`: a repository migrating from hand-run scripts records the results
// it already has as fresh, without running anything. Each target in the selection's closure
// whose inputs and outputs all exist is fingerprinted as it stands and written to sbuild.lock
// (and its outputs to the cache); a later change to its inputs makes it stale as usual.
import { SbuildError } from '../../errors.js';
import { select } from '../../graph/select.js';
import { closure } from '../../graph/graph.js';
import type { Workspace } from '../../engine/workspace.js';
import type { OutputRecord } from '../../engine/lockfile.js';
import { LockRecorder } from '../../engine/record.js';
import { storeOutputs } from '../../cache/outputs.js';
import { beginWriting } from './writing.js';
import { removeSnapshot } from '../../engine/noop-snapshot.js';
import type { Options } from '../args.js';

export async function adopt(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  if (!opts.targets.length) {
    throw new SbuildError('usage', '`sbuild adopt` needs the targets whose existing outputs to record, e.g. `sbuild adopt \'exp/**\'` or `sbuild adopt release`; it also adopts what they depend on. Add -n to see what it would record.');
  }
  const members = closure(ws.graph, select(ws.graph, opts.targets));
  const { writer, recovered } = await beginWriting(ws, opts);
  if (recovered) out(`warning: ${recovered}`);
  try {
    const adopted = new Map<number, Record<string, OutputRecord>>();
    const upstream = (id: number) => adopted.get(id) ?? ws.lock.entries.get(ws.graph.nodes[id]!.name)?.outputs;
    const problems: string[] = [];
    const recorder = new LockRecorder(ws);
    let fresh = 0;
    for (const id of ws.graph.order) {
      const node = ws.graph.nodes[id]!;
      if (!members.has(id) || node.group) continue;
      const entry = ws.lock.entries.get(node.name);
      const cur = ws.rebuilder.current(node, upstream, true, entry);
      if (entry && ws.rebuilder.decide(cur, entry, false).fresh) {
        fresh++;
        continue;
      }
      if (cur.missing.length) {
        problems.push(`${node.name}: input ${cur.missing.slice(0, 3).map((p) => `'${p}'`).join(', ')} ${cur.missing.length > 1 ? 'are' : 'is'} missing`);
        continue;
      }
      const { outputs, notProduced } = ws.rebuilder.hashOutputs(node);
      if (notProduced.length) {
        problems.push(`${node.name}: output ${notProduced.slice(0, 3).map((p) => `'${p}'`).join(', ')} ${notProduced.length > 1 ? 'are' : 'is'} missing`);
        continue;
      }
      adopted.set(id, outputs);
      out(`${opts.dryRun ? 'would adopt' : 'adopted'}  ${node.name}`);
      if (opts.dryRun) continue;
      recorder.record(node.name, cur, outputs);
      if (node.target.cache !== false) storeOutputs(ws.store, ws.hasher, ws.root, node, cur.fingerprint);
    }
    if (!opts.dryRun) {
      recorder.save();
      removeSnapshot(ws.root);
    }
    for (const p of problems) out(`not adopted  ${p}`);
    out(`sbuild: ${opts.dryRun ? 'would adopt' : 'adopted'} ${adopted.size}, already fresh ${fresh}, not adopted ${problems.length}`);
    if (problems.length) {
      throw new SbuildError(
        'usage',
        `${problems.length} target(s) could not be adopted because files they read or write do not exist (listed above). Adoption records results that are on disk; build those targets instead (\`sbuild ${problems.length === 1 ? problems[0]!.split(':')[0] : '<target>'}\`), or narrow the selection.`,
      );
    }
    return 0;
  } finally {
    writer?.release();
  }
}
