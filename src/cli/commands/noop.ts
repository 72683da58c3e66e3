// The no-op fast path of `sbuild [targets…]`: kept apart from the build itself, so that a
// build in which nothing changed loads only what answers it (the snapshot, the config hash,
// the summary line), not the scheduler, the executors and the renderers.
import fs from 'node:fs';
import { summaryText } from '../../ui/plain.js';
import { checkSnapshot, snapshotDelta, snapshotHolds, snapshotKey, type SnapshotDelta } from '../../engine/noop-snapshot.js';
import { configHashOf, type LoadedConfig } from '../../config/load.js';
import { phase } from '../../util/timing.js';
import type { Options } from '../args.js';
import { jobsPath } from '../../engine/state-paths.js';
import { hasSubmitted } from '../../executors/slurm-jobs.js';

/** Whether this invocation may be answered from the no-op snapshot (it prints only a summary). */
export function snapshotEligible(opts: Options): boolean {
  return !opts.dryRun && !opts.force && !opts.json && !opts.verbose && process.env.SBUILD_NO_SNAPSHOT !== '1';
}

export function selectionKey(opts: Options): string[] {
  return opts.targets.length ? opts.targets : ['(default)'];
}

/**
 * Answers a build in which nothing changed since the last all-fresh build (`code`); otherwise
 * says what changed since it, when it can (`delta`, for dirty-set planning).
 */
export async function noopFastPath(loaded: LoadedConfig, opts: Options, out: (s: string) => void): Promise<{ code: number } | { delta: SnapshotDelta | undefined }> {
  // An exclusive command's jobs, submitted Slurm jobs: the full path stops the first and
  // attaches to the second. (A build under way or killed is the snapshot's own refusal.)
  if (!snapshotEligible(opts) || fs.existsSync(jobsPath(loaded.root)) || hasSubmitted(loaded.root)) return { delta: undefined };
  const t0 = performance.now();
  let key: string;
  try {
    key = snapshotKey(loaded.root, loaded.config, configHashOf(loaded), selectionKey(opts), process.env);
  } catch {
    // The config has not been validated yet: a value the key cannot describe (a BigInt, a
    // cycle, targets that are not a list) is for validation to report, not for this shortcut.
    return { delta: undefined };
  }
  phase('snapshot key');
  const check = checkSnapshot(loaded.root);
  const fresh = check ? snapshotHolds(check, key) : undefined;
  phase('noop snapshot');
  if (fresh === undefined) {
    let delta: SnapshotDelta | undefined;
    try {
      delta = check ? snapshotDelta(loaded.root, check, key, loaded.config, configHashOf(loaded), selectionKey(opts), process.env) : undefined;
    } catch {
      delta = undefined;
    }
    phase('snapshot delta');
    return { delta };
  }
  out(summaryText({ type: 'summary', ran: 0, restored: 0, fresh, failed: 0, blocked: 0, ms: performance.now() - t0, interrupted: false, dryRun: false }));
  return { code: 0 };
}
