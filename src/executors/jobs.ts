// Jobs die with the build that started them. A command job runs in its own process group
// (so Ctrl-C can signal the whole tree it starts), which also means that a `kill -9` of sbuild
// leaves it running; a later build would then run the same job beside it, both writing the
// same outputs. Three guards close that:
//
// - The watchdog: a tiny `sh`, in its own session (killing sbuild's process group does not
//   reach it), started with the first command job of a build. sbuild tells it through a pipe
//   the process-group id of each job as it starts ("+PGID") and ends ("-PGID"). When the pipe
//   closes, sbuild has exited, however it died: every group still listed gets SIGTERM, and
//   SIGKILL two seconds later. A build that runs nothing starts no watchdog.
// - The record, the build's `.sbuild/builds/<id>.jobs.jsonl` (engine/live-builds.ts; an
//   exclusive command's `.sbuild/jobs.jsonl`): before a job starts, its target and outputs; once it
//   runs, its process-group id and the start time of the group's leader (from /proc, so a
//   reused pid is never taken for it); when it ends, that it ended. A build removes it when
//   it finishes. A new build that finds jobs of a dead build not marked ended (`recoverJobs`)
//   stops whatever of them still lives and waits until it is gone before running anything:
//   the recorded groups and, on Linux, any process whose environment names this workspace and
//   one of those targets (SBUILD_ROOT, SBUILD_TARGET: descendants that left the group, and a
//   job killed with sbuild between its start and its record). Their partial outputs go to
//   `.sbuild/failed/`.
// - A job ends with its command: what the command left running in its process group is
//   killed, and waited for, before its outputs are hashed, so the recorded bytes are the last
//   ones written.
//
// Jobs started through the launcher (launcher.ts) are recorded and ended the same way; the
// launcher, not the watchdog, holds their groups (from their start until sbuild ended them)
// and stops them if sbuild dies.
//
// Linux has all three. Elsewhere (macOS) the watchdog and the group kill work, but a process's
// start time is not read, so a new build only waits (briefly) for recorded groups to vanish and
// never signals them itself; on Windows (no process groups) none of this applies.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { SbuildError } from '../errors.js';
import { moveAside } from '../engine/failed.js';
import type { Workspace } from '../engine/workspace.js';
import { allProcs, exited, procStat, type Proc } from '../util/proc.js';
import { jobsPath } from '../engine/state-paths.js';

const LINUX = process.platform === 'linux';
const GROUPS = process.platform !== 'win32';

// Exported here for its callers; the path itself is state-paths.ts's.
export { jobsPath };

/** The watchdog's program: `$0` names it in `ps`; the groups it holds are a space-padded list. */
const WATCHDOG = `g=' '
while IFS= read -r l; do
  case $l in
    +*) g="$g\${l#+} " ;;
    -*) p=\${l#-}; case $g in *" $p "*) g="\${g%% $p *} \${g#* $p }" ;; esac ;;
  esac
done
set -- $g
[ $# -gt 0 ] || exit 0
for p do kill -TERM -"$p" 2>/dev/null; done
n=0
while [ $n -lt 20 ]; do
  sleep 0.1; n=$((n+1)); a=
  for p do kill -0 -"$p" 2>/dev/null && a=1; done
  [ -n "$a" ] || exit 0
done
for p do kill -KILL -"$p" 2>/dev/null; done
`;

/** What one build's command jobs are doing, for its watchdog and for the build after a crash. */
export class JobTracker {
  private fd: number | undefined;
  private watchdog: ChildProcess | undefined;
  private next = 0;
  private open = 0;

  constructor(private readonly file: string, private readonly root: string) {}

  /** Before the job's process starts: which target, and what it will write. Returns its id. */
  starting(target: string, outputs: readonly string[]): number {
    if (!GROUPS) return -1;
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = fs.openSync(this.file, 'a');
      this.line({ build: process.pid });
      this.startWatchdog();
    }
    const id = this.next++;
    this.open++;
    this.line({ id, target, outputs });
    return id;
  }

  /**
   * The job's process runs: its group id (its pid: jobs are started detached). A job the
   * launcher started comes with the start time the launcher read, and the launcher, not the
   * watchdog, holds its group (`launched`).
   */
  spawned(id: number, pgid: number, launched?: { start: string | null }): void {
    if (id < 0) return;
    if (!launched) this.tell(`+${pgid}`);
    this.line({ id, pgid, t: (launched ? launched.start : startTime(pgid)) ?? null });
  }

  /** The job and everything in its process group are gone. */
  ended(id: number, pgid: number | undefined, launched = false): void {
    if (id < 0) return;
    if (pgid !== undefined && !launched) this.tell(`-${pgid}`);
    this.line({ id, end: true });
    this.open--;
  }

  /** The build is over: the record goes, and the watchdog (holding no group) exits. */
  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
      if (this.open === 0) fs.rmSync(this.file, { force: true });
    }
    this.watchdog?.stdin?.end();
    this.watchdog = undefined;
  }

  private line(rec: object): void {
    fs.writeSync(this.fd!, JSON.stringify(rec) + '\n');
  }

  private tell(msg: string): void {
    // A small write to a pipe completes at once; a dead watchdog only loses its own job.
    this.watchdog?.stdin?.write(msg + '\n');
  }

  private startWatchdog(): void {
    try {
      const w = spawn('/bin/sh', ['-c', WATCHDOG, 'sbuild-watchdog', this.root], {
        cwd: '/', detached: true, stdio: ['pipe', 'ignore', 'ignore'],
        // Not the build's environment: nothing should take the watchdog for one of its jobs.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      w.on('error', () => undefined);
      w.stdin?.on('error', () => undefined);
      // Neither keeps sbuild alive: the pipe closes when sbuild exits, whichever way.
      w.unref();
      (w.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      this.watchdog = w;
    } catch {
      /* no sh: the record still lets the next build stop what this one leaves */
    }
  }
}

/**
 * After a job's command exited: kills what it left running in its process group and waits
 * until that is gone (so nothing writes its outputs after they are hashed). True when
 * something was left running.
 */
export async function endGroup(pgid: number): Promise<boolean> {
  if (!GROUPS) return false;
  if (!signalable(-pgid)) return false; // the usual case: the group is empty
  // Members are there (perhaps only exited ones not yet reaped). Whether one runs is judged
  // before the kill: a process killed a moment ago may already look exited.
  const found = LINUX ? groupMembers(allProcs(), pgid).length > 0 : true;
  signal(-pgid, 'SIGKILL');
  // Wait until none runs.
  for (let i = 0; i < 200; i++) {
    const live = LINUX ? groupMembers(allProcs(), pgid).length > 0 : signalable(-pgid);
    if (!live) break;
    if (i % 10 === 9) signal(-pgid, 'SIGKILL');
    await sleep(10);
  }
  return found;
}

export interface Open {
  target: string;
  outputs: string[];
  pgid?: number;
  t?: string | null;
}

/** The jobs a record holds as started and not ended, and the pid of the build that wrote it last; undefined: no record. */
export function openJobs(file: string): { build: number | undefined; open: Open[] } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // Ids restart with each build that appended to the record.
  let build = 0;
  let lastPid: number | undefined;
  const jobs = new Map<string, Open>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    let rec: { build?: number; id?: number; target?: string; outputs?: string[]; pgid?: number; t?: string | null; end?: boolean };
    try {
      rec = JSON.parse(line);
    } catch {
      continue; // torn by the crash
    }
    if (typeof rec.build === 'number') {
      build++;
      lastPid = rec.build;
      continue;
    }
    const key = `${build}:${rec.id}`;
    if (typeof rec.target === 'string' && Array.isArray(rec.outputs)) jobs.set(key, { target: rec.target, outputs: rec.outputs.filter((o) => typeof o === 'string') });
    else if (rec.end) jobs.delete(key);
    else if (typeof rec.pgid === 'number' && rec.pgid > 1) Object.assign(jobs.get(key) ?? {}, { pgid: rec.pgid, t: rec.t ?? null });
  }
  return { build: lastPid, open: [...jobs.values()] };
}

/**
 * Before a build runs anything: jobs a dead build left are stopped and waited for, and the
 * outputs they were writing moved aside. Returns one line to show (undefined: nothing found)
 * and the outputs moved (for the caller's stat caches). Throws when they cannot be stopped.
 */
export async function recoverJobs(root: string, file = jobsPath(root)): Promise<{ message: string; moved: string[] } | undefined> {
  const rec = openJobs(file);
  if (!rec) return undefined;
  const deadPid = rec.build;
  const open = rec.open;
  let stopped = 0;
  if (open.length && GROUPS) stopped = await stopOrphans(root, open);
  const moved: string[] = [];
  const names: string[] = [];
  for (const j of open) {
    if (moveAside(root, j.target, j.outputs)) {
      names.push(j.target);
      moved.push(...j.outputs);
    }
  }
  fs.rmSync(file, { force: true });
  if (!stopped && !names.length) return undefined;
  const who = `a killed sbuild${deadPid ? ` (pid ${deadPid})` : ''}`;
  const list = (xs: string[]) => (xs.length > 4 ? `${xs.slice(0, 4).join(', ')}, …` : xs.join(', '));
  const parts: string[] = [];
  if (stopped) parts.push(`stopped ${stopped} process(es) left running by ${who} before building`);
  if (names.length) parts.push(`${stopped ? 'partial' : `${who} left partial`} outputs of ${list(names)} moved to .sbuild/failed/`);
  return { message: parts.join('; '), moved };
}

/** Stops what still lives of these jobs; returns how many processes that was. */
async function stopOrphans(root: string, open: Open[]): Promise<number> {
  if (!LINUX) {
    // No start times here, so a recorded group id may belong to someone else by now: never
    // signal it; give the watchdog (which stops them at once) a moment to finish.
    for (let i = 0; i < 250 && open.some((j) => j.pgid !== undefined && signalable(-j.pgid)); i++) await sleep(20);
    return 0;
  }
  const targets = new Set(open.map((j) => j.target));
  const mine = Buffer.from(`SBUILD_ROOT=${root}\0`);
  // The groups that are still the recorded ones: their leader is the recorded process, or gone
  // (a pid is not reused while its number is a live group's id).
  const all = allProcs();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const groups = new Set<number>();
  for (const j of open) {
    if (j.pgid === undefined) continue;
    const leader = byPid.get(j.pgid);
    if (leader && j.t && leader.start !== j.t) continue;
    if (groupMembers(all, j.pgid).length) groups.add(j.pgid);
  }
  // Processes of those jobs by their environment: a job started but not yet recorded, or a
  // descendant that left its group. Only ours are readable, and only ours matter.
  const strays = new Map<number, string>();
  for (const p of all) {
    if (p.pid === process.pid || groups.has(p.pgid) || exited(p)) continue;
    let env: Buffer;
    try {
      env = fs.readFileSync(`/proc/${p.pid}/environ`);
    } catch {
      continue;
    }
    if (env.indexOf(mine) !== 0 && env.indexOf(Buffer.concat([Buffer.from('\0'), mine])) < 0) continue;
    const m = /(?:^|\0)SBUILD_TARGET=([^\0]*)/.exec(env.toString('utf8'));
    if (m && targets.has(m[1]!)) strays.set(p.pid, p.start);
  }
  const living = (): number[] => {
    const now = allProcs();
    const out: number[] = [];
    for (const g of groups) out.push(...groupMembers(now, g));
    for (const p of now) if (strays.get(p.pid) === p.start && !exited(p) && !groups.has(p.pgid)) out.push(p.pid);
    return out;
  };
  let left = living();
  const stopped = left.length;
  if (!stopped) return 0;
  const send = (sig: NodeJS.Signals) => {
    for (const g of groups) signal(-g, sig);
    for (const pid of strays.keys()) signal(pid, sig);
  };
  send('SIGTERM');
  const t0 = Date.now();
  let killed = false;
  while (left.length) {
    const waited = Date.now() - t0;
    if (waited > 2000) {
      send('SIGKILL');
      killed = true;
    }
    if (killed && waited > 12_000) {
      throw new SbuildError('workspace-busy', `Processes left running by a killed sbuild in this workspace (${root}) could not be stopped: pid ${left.slice(0, 10).join(', ')}. Stop them (kill -9), then build again.`);
    }
    await sleep(25);
    left = living();
  }
  return stopped;
}

/** The start time of a process (Linux), to tell it from a later one with the same pid. */
export function startTime(pid: number): string | undefined {
  return LINUX ? procStat(pid)?.start : undefined;
}

function groupMembers(all: Proc[], pgid: number): number[] {
  return all.filter((p) => p.pgid === pgid && !exited(p)).map((p) => p.pid);
}

function signalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * `recoverJobs` for one record, under the state lock: what was moved is forgotten by the
 * stat memo. Returns the line to show, if any.
 */
export async function recoverWorkspace(ws: Workspace, file?: string): Promise<string | undefined> {
  const r = await recoverJobs(ws.root, file);
  if (!r) return undefined;
  for (const o of r.moved) ws.hasher.forget(o);
  ws.rebuilder.outputsWritten(r.moved);
  return r.message;
}
