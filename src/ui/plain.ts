// Plain lines for CI and pipes; also the text printed for failures by every renderer.
import type { BuildEvent } from '../engine/events.js';
import { describeReason, summarizeReasons } from './reasons.js';
import { failureMessage } from './failure.js';

export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function failureText(e: Extract<BuildEvent, { type: 'failed' }>): string {
  const lines = [`✖ ${e.name}: ${failureMessage(e.failure, e.name)}`];
  if (e.log) {
    lines.push(`  command: ${e.log.command}`, `  log: ${e.log.logFile}`);
    if (e.log.logTail) lines.push(...e.log.logTail.split('\n').map((l) => `  │ ${l}`));
  }
  return lines.join('\n');
}

export function summaryText(e: Extract<BuildEvent, { type: 'summary' }>): string {
  if (e.dryRun) return `sbuild: dry run: ${e.ran} would run, ${e.fresh} fresh`;
  const parts = [`${e.ran} ran`, ...(e.restored ? [`${e.restored} restored`] : []), `${e.fresh} fresh`];
  if (e.failed) parts.push(`${e.failed} failed`);
  if (e.detached) parts.push(`${e.detached} submitted to Slurm, not waited for (the next sbuild records them)`);
  if (e.blocked) parts.push(`${e.blocked} not run (${e.detached ? 'dependency submitted or failed' : 'dependency failed'})`);
  return `sbuild: ${e.interrupted ? 'interrupted: ' : ''}${parts.join(', ')} in ${fmtMs(e.ms)}`;
}

export function plainRenderer(write: (s: string) => void, opts: { quiet: boolean; verbose: boolean }) {
  return (e: BuildEvent) => {
    switch (e.type) {
      case 'plan': return;
      case 'fresh': if (opts.verbose) write(`  fresh ${e.name}`); return;
      case 'would-run':
        write(e.restore ? `would restore ${e.name} from cache` : `would run ${e.name}`);
        for (const r of e.reasons) write(`    ${describeReason(r)}`);
        return;
      case 'start': if (!opts.quiet) write(`▶ ${e.name}${e.executor ? ` [${e.executor}]` : ''}${e.gpus.length ? ` [gpu ${e.gpus.join(',')}]` : ''} — ${summarizeReasons(e.reasons)}`); return;
      case 'done': if (!opts.quiet) write(`✔ ${e.name} (${fmtMs(e.ms)})`); return;
      case 'restored': if (!opts.quiet) write(`↺ ${e.name} restored from cache (fingerprint ${e.fingerprint.slice(0, 12)}) — ${summarizeReasons(e.reasons)}`); return;
      case 'failed': write(failureText(e)); return;
      case 'blocked': if (!opts.quiet) write(`- ${e.name}: not run, dependency ${e.dep} ${e.submitted ? 'is on Slurm, not waited for' : 'failed'}`); return;
      case 'detached': write(`⇢ ${e.name}: Slurm job ${e.jobId} (${e.state}), not waited for (--detach); \`sbuild status\` shows it, the next sbuild records it`); return;
      case 'warning': write(`warning: ${e.message}`); return;
      case 'progress': if (e.line && !opts.quiet) write(`  ${e.name}: ${e.text}`); return;
      case 'summary': write(summaryText(e)); return;
    }
  };
}

/** One JSON object per line; `fresh` is reported as skipped with its reason. */
export function jsonRenderer(write: (s: string) => void) {
  return (e: BuildEvent) => {
    // Live progress is for terminals; milestones stay in the stream.
    if (e.type === 'progress' && !e.line) return;
    const out = e.type === 'fresh' ? { type: 'skipped', name: e.name, reason: 'fresh' }
      : e.type === 'start' || e.type === 'would-run' || e.type === 'restored' ? { ...e, why: e.reasons.map(describeReason) }
      : e.type === 'failed' ? failedJson(e)
      : e.type === 'done' || e.type === 'summary' ? { ...e, ms: Math.round(e.ms) }
      : e;
    write(JSON.stringify(out));
  };
}

/** A failure in the event stream: its kind and fields, the sentence, and the log as before (flat). */
function failedJson(e: Extract<BuildEvent, { type: 'failed' }>) {
  const { log, ...rest } = e;
  return { ...rest, ms: Math.round(e.ms), message: failureMessage(e.failure, e.name), ...(log ?? {}) };
}
