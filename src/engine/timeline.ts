// The last build as a timeline (`.sbuild/last-build.json`): when each target started and
// ended, where it ran (local lane / GPU ids, or Slurm) and how it ended. The report draws it
// as a Gantt chart. A build that ran nothing keeps the previous timeline.
import fs from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';
import { timelinePath } from './state-paths.js';

export interface TimelineEntry {
  name: string;
  /** Milliseconds since the build started. */
  start: number;
  end: number;
  outcome: 'ran' | 'restored' | 'failed' | 'detached';
  executor: 'local' | 'slurm';
  gpus: string[];
}

export interface TimelineFile {
  format: 1;
  /** Wall-clock start (ms since the epoch) and length of the build. */
  startedAt: number;
  ms: number;
  entries: TimelineEntry[];
}

export class Timeline {
  private readonly t0 = performance.now();
  private readonly startedAt = Date.now();
  private readonly open = new Map<string, Omit<TimelineEntry, 'end' | 'outcome'>>();
  private readonly entries: TimelineEntry[] = [];

  begin(name: string, executor: 'local' | 'slurm', gpus: string[]): void {
    this.open.set(name, { name, start: Math.round(performance.now() - this.t0), executor, gpus });
  }

  end(name: string, outcome: TimelineEntry['outcome']): void {
    const now = Math.round(performance.now() - this.t0);
    const o = this.open.get(name) ?? { name, start: now, executor: 'local' as const, gpus: [] };
    this.open.delete(name);
    this.entries.push({ ...o, end: now, outcome });
  }

  save(root: string): void {
    if (!this.entries.length) return;
    const body: TimelineFile = { format: 1, startedAt: this.startedAt, ms: Math.round(performance.now() - this.t0), entries: this.entries };
    writeFileAtomic(timelinePath(root), JSON.stringify(body));
  }
}

// Exported here for its callers; the path itself is state-paths.ts's.
export { timelinePath };

/** The last build's timeline, or undefined when there is none (or it is unreadable). */
export function readTimeline(root: string): TimelineFile | undefined {
  try {
    const t = JSON.parse(fs.readFileSync(timelinePath(root), 'utf8')) as TimelineFile;
    return t.format === 1 && Array.isArray(t.entries) ? t : undefined;
  } catch {
    return undefined;
  }
}
