// The start of every command that writes in a workspace.
//
// A build (`beginBuild`) takes the state lock only to settle what killed commands left, to
// plan, and to register what it claims (engine/live-builds.ts); its jobs run without it, beside
// other builds. A plan that collides with a build under way waits for the targets it collides
// on, not for that whole build, then plans again.
//
// An exclusive command (`beginWriting`: clean, adopt, materialize, pull, gc) holds the state
// lock for its whole run, once no build is under way.
//
// Either first stops the jobs a killed build left running, folds its journal into sbuild.lock
// and removes its files (src/executors/jobs.ts).
import fs from 'node:fs';
import type { Workspace } from '../../engine/workspace.js';
import { acquireWriterLock, type WriterLock } from '../../engine/writer-lock.js';
import { holderRecord } from '../../engine/writer-lock.js';
import { recoverWorkspace } from '../../executors/jobs.js';
import { SbuildError } from '../../errors.js';
import type { Options } from '../args.js';
import type { Plan } from '../../engine/plan.js';
import { alive, registrationOf, conflictsWith, foldJournal, jobsFile, listBuilds, newBuildId, nextSeq, pruneSuperseded, removeBuild, standing, writeRegistration, type Conflict, type Registration } from '../../engine/live-builds.js';
import { BuildSession, claimsOf } from '../../engine/build-session.js';
import { journalPath } from '../../engine/state-paths.js';
import { readJournal, readLock, removeLegacyJournal, writeLock } from '../../engine/lockfile.js';

export interface Writing {
  writer: WriterLock | undefined;
  /** One line about what a killed build left and what was done about it; undefined: nothing. */
  recovered: string | undefined;
}

const say = (m: string) => process.stderr.write(m + '\n');
const POLL_MS = 100;

/** An exclusive command's start: the state lock, held until release(), with no build under way. */
export async function beginWriting(ws: Workspace, opts: Pick<Options, 'dryRun' | 'wait' | 'command'>): Promise<Writing> {
  if (opts.dryRun) return { writer: undefined, recovered: undefined };
  let announced = false;
  for (;;) {
    const writer = await acquireWriterLock(ws.root, { wait: opts.wait, onWait: say, exclusive: opts.command });
    let ok = false;
    try {
      const recovered = await recoverDead(ws);
      const live = listBuilds(ws.root).filter(alive);
      if (live.length === 0) {
        ok = true;
        if (ws.lockChanged()) ws.refresh();
        // Counted as a build is: a build that checked the no-op snapshot before this command
        // changed files plans from what it saw only if no number was taken since (noop-snapshot.ts).
        nextSeq(ws.root);
        return { writer, recovered };
      }
      const reg = registrationOf(live.find((b) => (b.reg?.seq ?? 0) > 0) ?? live[0]!, () => []);
      const who = `\`${reg.command}\` (pid ${reg.holder.pid})`;
      if (!opts.wait) throw new SbuildError('workspace-busy', `A build is under way in this workspace (${ws.root}): ${who}. \`sbuild ${opts.command}\` runs only when none is. Let it finish, stop it, or run without --no-wait to wait.`);
      if (!announced) say(`waiting for ${who} to finish building in this workspace…`);
      announced = true;
    } finally {
      if (!ok) writer.release();
    }
    while (listBuilds(ws.root).some(alive)) await sleep(POLL_MS);
  }
}

/**
 * A build's start: what killed builds left is settled, the plan made (by `planner`, under the
 * state lock, against the lock and the journals of the builds under way) and registered. Waits
 * (saying for what) while the plan collides with another build's claims.
 */
export async function beginBuild(ws: Workspace, opts: Pick<Options, 'wait' | 'targets'>, planner: (recovered: boolean) => Plan): Promise<{ session: BuildSession; plan: Plan; recovered: string | undefined }> {
  const id = newBuildId();
  const command = ['sbuild', ...opts.targets].join(' ');
  const recovered: string[] = [];
  let waitingAs: Registration | undefined;
  let said = '';
  // Ctrl-C while waiting: nothing started, nothing to keep but the exit code.
  const onSignal = () => {
    if (waitingAs) removeBuild(ws.root, id);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (;;) {
      const writer = await acquireWriterLock(ws.root, { wait: opts.wait, onWait: say });
      let conflicts: Conflict[];
      let mine: ReturnType<typeof claimsOf>;
      try {
        const r = await recoverDead(ws);
        if (r) recovered.push(r);
        if (ws.lockChanged()) ws.reloadLock();
        const planned = planner(recovered.length > 0);
        const claims = (mine = claimsOf(ws.graph, planned));
        const names = () => ws.graph.nodes.map((n) => n.name);
        const others = listBuilds(ws.root).filter((b) => b.id !== id && alive(b)).map((b) => registrationOf(b, names));
        conflicts = conflictsWith(claims.claims, claims.reads, others);
        // A build that recorded something while this one planned (it needs no lock to finish
        // a target and let go of it): the plan may stand on files it has since rewritten.
        if (ws.lockChanged()) {
          ws.refresh();
          continue;
        }
        if (conflicts.length === 0) {
          const reg: Registration = { id, holder: holderRecord(), seq: nextSeq(ws.root), command, claims: [...claims.claims], reads: [...claims.reads] };
          writeRegistration(ws.root, reg);
          waitingAs = undefined;
          ws.lockSeen();
          const alone = !others.some((o) => o.seq > 0);
          return { session: new BuildSession(ws.root, ws.graph, reg, claims, alone, ws.lock), plan: planned, recovered: recovered.length ? recovered.join('; ') : undefined };
        }
        const what = conflicts.map((c) => `${list(c.targets)} (in use by ${describe(c.reg)})`).join('; ');
        if (!opts.wait) throw new SbuildError('workspace-busy', `This build needs targets that another build in this workspace is building or reading: ${what}. Let it finish, or run without --no-wait to wait for those targets alone.`);
        if (what !== said) say(`waiting for ${what}…`);
        said = what;
        // Registered with no claims while it waits: the other build keeps its own registration
        // current for as long as someone is there to read it.
        if (!waitingAs) writeRegistration(ws.root, (waitingAs = { id, holder: holderRecord(), seq: 0, command, claims: [], reads: [] }));
      } finally {
        writer.release();
      }
      // Until the other build has let go of something this one collides on: then plan again
      // (a target it finished may now be fresh here, and only read).
      const before = signature(conflicts);
      for (;;) {
        const now = standing(ws.root, conflicts, mine.claims, mine.reads);
        if (now.length === 0 || signature(now) !== before) break;
        await sleep(POLL_MS);
      }
      // What it wrote is seen afresh.
      ws.refresh();
    }
  } catch (err) {
    if (waitingAs) removeBuild(ws.root, id);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Under the state lock: every build whose holder is dead (killed) has its jobs stopped, its
 * journal folded into sbuild.lock and its files removed; so has a killed exclusive command.
 * Returns one line about it, if there was anything.
 */
async function recoverDead(ws: Workspace): Promise<string | undefined> {
  const root = ws.root;
  const msgs: string[] = [];
  let folded = 0;
  const legacyJobs = await recoverWorkspace(ws);
  if (legacyJobs) msgs.push(legacyJobs);
  if (fs.existsSync(journalPath(root))) {
    folded += readJournal(journalPath(root)).length;
    const lock = readLock(root);
    writeLock(root, lock);
    removeLegacyJournal(root);
  }
  for (const b of listBuilds(root)) {
    if (alive(b)) continue;
    if (b.jobs) {
      const m = await recoverWorkspace(ws, jobsFile(root, b.id));
      if (m) msgs.push(m);
    }
    if (b.journal) folded += foldJournal(root, b.id, b.reg?.seq ?? 0);
    removeBuild(root, b.id);
  }
  pruneSuperseded(root);
  if (folded) msgs.unshift(`recovered ${folded} finished target(s) from the journal of an interrupted build`);
  return msgs.length ? msgs.join('; ') : undefined;
}

/** What the colliding builds hold, to tell when it changed. */
function signature(cs: Conflict[]): string {
  return cs.map((c) => `${c.reg.id}:${c.targets.join(',')}:${c.reg.claims.length}:${c.reg.reads.length}`).join(' ');
}

function describe(reg: Registration): string {
  return `\`${reg.command}\`, pid ${reg.holder.pid}`;
}

function list(xs: string[]): string {
  return xs.length > 4 ? `${xs.slice(0, 4).join(', ')} and ${xs.length - 4} more` : xs.join(', ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
