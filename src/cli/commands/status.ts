// `sbuild status` and `sbuild explain`: a dry run over the selection, rendered per target.
import { SbuildError } from '../../errors.js';
import { select } from '../../graph/select.js';
import { plan, planSummary } from '../../engine/plan.js';
import { roots, selection } from '../../engine/selection.js';
import type { Workspace } from '../../engine/workspace.js';
import { category } from '../../engine/reasons.js';
import { readSubmitted } from '../../executors/slurm-jobs.js';
import { openJobs, jobsPath } from '../../executors/jobs.js';
import { alive, jobsFile, listBuilds } from '../../engine/live-builds.js';
import { judge } from '../../engine/writer-lock.js';
import os from 'node:os';
import { resumeOutlook } from '../../engine/resume.js';
import type { GraphNode } from '../../graph/graph.js';
import { describeReason } from '../../ui/reasons.js';
import { short } from '../../hashing/sha256.js';
import type { Options } from '../args.js';

/** The plan for these roots, as lists; the stat cache is kept (nothing else is written). */
function dryRun(ws: Workspace, ids: number[]) {
  const r = planSummary(plan(ws, selection(ws.graph, ids)));
  ws.hasher.save();
  return r;
}

export async function status(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const ids = roots(ws, opts.targets, true);
  const r = dryRun(ws, ids);
  const stale = new Map(r.wouldRun.map((w) => [w.name, w.reasons]));
  const restorable = new Set(r.wouldRun.filter((w) => w.restore).map((w) => w.name));
  const fresh = new Set(r.fresh);
  const rows: Array<{ name: string; state: string; reasons: string[]; slurm?: { jobId: string | null; state: string } }> = [];
  const onSlurm = await submittedJobs(ws);
  const running = runningJobs(ws);
  const claimed = claimedElsewhere(ws);
  for (const id of ws.graph.order) {
    const n = ws.graph.nodes[id]!;
    if (n.group) continue;
    const reasons = stale.get(n.name);
    const job = onSlurm.get(n.name);
    const here = running.get(n.name);
    if (here) {
      rows.push({ name: n.name, state: 'running', reasons: [here, ...(reasons ?? []).map(describeReason)] });
    } else if (job) {
      const line = `Slurm job ${job.jobId ?? '(id not known yet)'} ${job.state}${job.earlier ? ', of an earlier fingerprint' : ''} (submitted ${job.submitted}); the next sbuild records it`;
      rows.push({ name: n.name, state: 'slurm', reasons: [line, ...(reasons ?? []).map(describeReason)], slurm: { jobId: job.jobId ?? null, state: job.state } });
    } else if (reasons) {
      const outlook = n.resume && !restorable.has(n.name) && !reasons.some((x) => x.kind === 'upstream-will-run') ? resumeOutlookOf(ws, n) : undefined;
      const by = claimed.get(n.name);
      rows.push({ name: n.name, state: category(reasons), reasons: [...reasons.map(describeReason), ...(restorable.has(n.name) ? ['restorable from cache'] : []), ...(outlook ? [outlook] : []), ...(by ? [`the build under way (${by}) will build it`] : [])] });
    }
    else if (fresh.has(n.name)) rows.push({ name: n.name, state: 'fresh', reasons: [] });
  }
  if (opts.json) for (const row of rows) out(JSON.stringify(row));
  else {
    for (const row of rows) {
      if (row.state === 'fresh' && opts.quiet) continue;
      out(`${row.state.padEnd(8)}${row.name}${row.reasons.length ? ` — ${row.reasons[0]}` : ''}`);
      for (const extra of row.reasons.slice(1)) out(`${' '.repeat(8 + row.name.length)} — ${extra}`);
    }
    const count = (s: string) => rows.filter((x) => x.state === s).length;
    out(`sbuild: ${count('fresh')} fresh, ${count('stale')} stale, ${count('missing')} missing${count('blocked') ? `, ${count('blocked')} blocked` : ''}${count('running') ? `, ${count('running')} running` : ''}${count('slurm') ? `, ${count('slurm')} on Slurm` : ''}`);
  }
  return opts.exitCode && rows.some((x) => x.state !== 'fresh') ? 1 : 0;
}

/** Targets whose command job another sbuild in this workspace is running now (from its job record), in words. */
function runningJobs(ws: Workspace): Map<string, string> {
  const out = new Map<string, string>();
  const records: Array<{ file: string; live: boolean | undefined }> = [{ file: jobsPath(ws.root), live: undefined }];
  for (const b of listBuilds(ws.root)) if (b.jobs) records.push({ file: jobsFile(ws.root, b.id), live: alive(b) });
  for (const { file, live } of records) {
    const rec = openJobs(file);
    if (!rec?.open.length) continue;
    const running = live ?? (rec.build !== undefined && judge({ pid: rec.build, host: os.hostname(), since: '' }) !== 'dead');
    for (const j of rec.open) {
      out.set(j.target, running
        ? `being built now by another sbuild (pid ${rec.build})`
        : 'interrupted: a killed sbuild left its job; the next build stops what is left of it and runs it again (a resumable one continues)');
    }
  }
  return out;
}

/** Targets that a build under way has claimed (engine/live-builds.ts), with that build in words. */
function claimedElsewhere(ws: Workspace): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of listBuilds(ws.root)) {
    if (!b.reg || b.reg.seq === 0 || !alive(b)) continue;
    for (const t of b.reg.claims) out.set(t, `\`${b.reg.command}\`, pid ${b.reg.holder.pid}`);
  }
  return out;
}

/** What a target reads now: its inputs hashed as they are, upstream outputs as sbuild.lock records them. */
function recordedCurrent(ws: Workspace, n: GraphNode) {
  return ws.rebuilder.current(n, (d) => ws.lock.entries.get(ws.graph.nodes[d]!.name)?.outputs, false, ws.lock.entries.get(n.name));
}

/** A resumable target's next run, in words: resume, take back, or start from scratch. */
function resumeOutlookOf(ws: Workspace, n: GraphNode): string | undefined {
  const cur = recordedCurrent(ws, n);
  return resumeOutlook(ws.root, ws.graph, n, cur.fingerprint);
}

/** Jobs submitted to Slurm by earlier builds and not recorded yet, with what Slurm says of them now. */
async function submittedJobs(ws: Workspace): Promise<Map<string, { jobId?: string; state: string; submitted: string; earlier: boolean }>> {
  const out = new Map<string, { jobId?: string; state: string; submitted: string; earlier: boolean }>();
  const jobs = readSubmitted(ws.root);
  if (!jobs.length) return out;
  const { jobState } = await import('../../executors/slurm.js');
  for (const j of jobs) {
    const st = j.jobId ? await jobState({ scontrol: 'scontrol', sacct: 'sacct' }, j.jobId) : undefined;
    const n = ws.graph.byName.get(j.target);
    const cur = n && !n.group ? recordedCurrent(ws, n) : undefined;
    const state = st === 'forgotten' ? 'ended (no longer listed)' : st ? st.state : j.jobId ? 'state unknown (Slurm did not answer)' : 'id not journaled yet';
    out.set(j.target, { ...(j.jobId ? { jobId: j.jobId } : {}), state, submitted: j.submitted, earlier: cur !== undefined && cur.fingerprint !== j.fingerprint });
  }
  return out;
}

export async function explain(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  if (opts.targets.length !== 1) throw new SbuildError('usage', '`sbuild explain` takes exactly one target name, e.g. `sbuild explain exp/cfar_ca/full/eval-test`.');
  const ids = select(ws.graph, opts.targets);
  const r = dryRun(ws, ids);
  for (const id of ids) {
    const n = ws.graph.nodes[id]!;
    const entry = ws.lock.entries.get(n.name);
    const w = r.wouldRun.find((x) => x.name === n.name);
    const upstream = r.wouldRun.filter((x) => x.name !== n.name);
    // What the target reads now: its inputs hashed as they are, upstream outputs as recorded.
    const cur = n.group ? undefined : recordedCurrent(ws, n);
    if (opts.json) {
      out(JSON.stringify({
        name: n.name,
        group: n.group,
        state: n.group ? 'group' : w ? category(w.reasons) : 'fresh',
        action: w ? (w.restore ? 'restore' : 'run') : 'none',
        reasons: w?.reasons ?? [],
        fingerprint: { recorded: entry?.fingerprint ?? null, current: cur?.fingerprint ?? null },
        command: cur?.record.action ?? null,
        inputs: cur?.record.inputs ?? {},
        missingInputs: cur?.missing ?? [],
        params: n.target.params ?? {},
        outputs: n.outputs,
        upstream: upstream.map((u) => ({ name: u.name, reasons: u.reasons })),
      }));
      continue;
    }
    if (n.group) {
      out(`${n.name}: group of ${n.deps.map((d) => ws.graph.nodes[d]!.name).join(', ')}`);
    } else if (!w) {
      out(`${n.name}: fresh`);
      out(`  fingerprint ${short(entry?.fingerprint)} matches sbuild.lock; ${Object.keys(entry?.inputs ?? {}).length} input(s) and ${Object.keys(entry?.outputs ?? {}).length} output(s) verified`);
    } else {
      const state = category(w.reasons);
      out(state === 'blocked' ? `${n.name}: blocked (cannot run until its missing input is back)` : `${n.name}: would ${w.restore ? 'restore from cache' : 'run'} (${state})`);
      for (const reason of w.reasons) out(`  - ${describeReason(reason)}`);
      const outlook = n.resume && !w.restore && !w.reasons.some((x) => x.kind === 'upstream-will-run') ? resumeOutlookOf(ws, n) : undefined;
      if (outlook) out(`  resume: ${outlook}`);
    }
    if (cur) {
      const inputs = Object.entries(cur.record.inputs);
      out(`inputs (${inputs.length + cur.missing.length}):`);
      for (const [p, h] of inputs) out(`  ${short(h)}  ${p}${p.startsWith('/') ? '  (outside the workspace)' : ''}`);
      for (const p of cur.missing) out(`  (missing)     ${p}`);
      const params = Object.entries(n.target.params ?? {});
      if (params.length) {
        out('params:');
        for (const [k, v] of params) out(`  ${k} = ${JSON.stringify(v)}${typeof v === 'string' && v.startsWith('values:') ? '  (the merged config, by content)' : ''}`);
      }
      out(`command: ${cur.record.action}`);
    }
    if (upstream.length) {
      out(`upstream that would run first:`);
      for (const u of upstream) out(`  ${u.name}: ${u.reasons.map(describeReason).join('; ')}`);
    }
  }
  return 0;
}
