// Lanes of the last build's Gantt chart: local jobs without a GPU share lanes assigned
// greedily by start time (a job takes the first lane free when it starts), a GPU job goes on
// its device's lane, and Slurm jobs get lanes of their own, assigned the same greedy way.
import type { TimelineEntry } from '../engine/timeline.js';

export interface Lanes {
  /** Lane names, top to bottom: local lanes, GPU lanes, Slurm lanes. */
  names: string[];
  /** Per entry (input order), its lane's index in `names`. */
  of: number[];
}

export function assignLanes(entries: TimelineEntry[]): Lanes {
  const order = entries.map((_, i) => i).sort((a, b) => entries[a]!.start - entries[b]!.start || entries[a]!.end - entries[b]!.end || a - b);
  const pools = { local: [] as number[], slurm: [] as number[] };
  const gpuLanes = new Map<string, number>();
  const laneName: string[] = [];
  const raw: string[] = new Array(entries.length);
  const greedy = (kind: 'local' | 'slurm', e: TimelineEntry): string => {
    const ends = pools[kind];
    let k = ends.findIndex((end) => end <= e.start);
    if (k < 0) {
      k = ends.length;
      ends.push(0);
    }
    ends[k] = Math.max(e.end, e.start);
    return `${kind} ${k + 1}`;
  };
  for (const i of order) {
    const e = entries[i]!;
    if (e.executor === 'slurm') raw[i] = greedy('slurm', e);
    else if (e.gpus.length) {
      const name = `GPU ${e.gpus.join('+')}`;
      if (!gpuLanes.has(name)) gpuLanes.set(name, gpuLanes.size);
      raw[i] = name;
    } else raw[i] = greedy('local', e);
  }
  for (let k = 0; k < pools.local.length; k++) laneName.push(`local ${k + 1}`);
  laneName.push(...[...gpuLanes.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })));
  for (let k = 0; k < pools.slurm.length; k++) laneName.push(`slurm ${k + 1}`);
  const index = new Map(laneName.map((n, k) => [n, k]));
  return { names: laneName, of: raw.map((n) => index.get(n)!) };
}
