// `sbuild push` / `sbuild pull`: move recorded outputs (checkpoints, visualisations) between
// machines through the remote cache, keyed by the fingerprints in sbuild.lock.
import { finishResume } from '../../engine/resume.js';
import { putBack } from '../../engine/restore.js';
import { SbuildError } from '../../errors.js';
import type { Workspace } from '../../engine/workspace.js';
import { remoteFor } from '../../cache/setup.js';
import { fetchRemote, storeOutputs, upload } from '../../cache/outputs.js';
import type { Options } from '../args.js';
import { roots } from '../../engine/selection.js';
import { beginWriting } from './writing.js';
import { outputHash } from '../../engine/rebuilder.js';

function remoteOrFail(ws: Workspace, opts: Options, forUpload: boolean, out: (s: string) => void) {
  const remote = remoteFor(ws.config, { url: opts.remoteCache, upload: forUpload }, (m) => out(`warning: ${m}`));
  if (!remote) throw new SbuildError('usage', `\`sbuild ${opts.command}\` needs a remote cache: pass --remote-cache URL or set \`remoteCache: { url }\` in tasks.config.ts.`);
  return remote;
}

/** Targets whose outputs on disk are exactly what sbuild.lock records. */
function recorded(ws: Workspace, ids: number[]) {
  return ids.map((id) => ws.graph.nodes[id]!).filter((n) => !n.group && ws.lock.entries.has(n.name));
}

export async function push(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const remote = remoteOrFail(ws, opts, true, out);
  let pushed = 0;
  let skipped = 0;
  for (const n of recorded(ws, roots(ws, opts.targets, true))) {
    const entry = ws.lock.entries.get(n.name)!;
    const { outputs, notProduced } = ws.rebuilder.hashOutputs(n);
    const matches = notProduced.length === 0 && Object.entries(entry.outputs).every(([p, r]) => outputs[p]?.hash === r.hash);
    if (!matches) {
      skipped++;
      continue;
    }
    const result = storeOutputs(ws.store, ws.hasher, ws.root, n, entry.fingerprint);
    if (result) await upload(remote, ws.store, entry.fingerprint, result);
    if (!remote.enabled) return 1;
    pushed++;
  }
  ws.hasher.save();
  out(`sbuild: pushed ${pushed} target(s)${skipped ? `; skipped ${skipped} whose outputs are missing or differ from sbuild.lock` : ''}`);
  return 0;
}

export async function pull(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const remote = remoteOrFail(ws, opts, false, out);
  // A pull always writes (there is no dry run of it).
  const { writer, recovered } = await beginWriting(ws, { ...opts, dryRun: false });
  if (recovered) out(`warning: ${recovered}`);
  let pulled = 0;
  let present = 0;
  const missing: string[] = [];
  try {
    for (const n of recorded(ws, roots(ws, opts.targets, true))) {
      const entry = ws.lock.entries.get(n.name)!;
      const here = Object.entries(entry.outputs).every(([p, r]) => outputHash(ws.hasher, p, r) === r.hash);
      if (here) {
        present++;
        continue;
      }
      const result = (await fetchRemote(remote, ws.store, n, entry.fingerprint)) ? ws.store.getAction(entry.fingerprint) : undefined;
      if (!result) {
        missing.push(n.name);
        continue;
      }
      putBack(ws, n, entry.fingerprint, result);
      if (n.resume) finishResume(ws.root, n, entry.fingerprint);
      pulled++;
    }
  } finally {
    writer?.release();
    ws.hasher.save();
  }
  out(`sbuild: pulled ${pulled} target(s), ${present} already present${missing.length ? `; not on the server: ${missing.join(', ')}` : ''}`);
  return missing.length ? 1 : 0;
}
