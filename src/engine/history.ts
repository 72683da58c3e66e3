// Run history in `.sbuild/history.json`: the last duration of each target, used to
// start the critical path first. Never affects correctness; unreadable means empty.
import fs from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';
import { historyPath } from './state-paths.js';

export class History {
  private readonly file: string;
  readonly durations: Record<string, number> = {};
  private dirty = false;

  constructor(root: string) {
    this.file = historyPath(root);
  }

  load(): this {
    try {
      const d = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { durations?: Record<string, number> };
      if (d.durations && typeof d.durations === 'object') Object.assign(this.durations, d.durations);
    } catch {
      /* none yet */
    }
    return this;
  }

  record(name: string, ms: number): void {
    this.durations[name] = Math.round(ms);
    this.dirty = true;
  }

  save(): void {
    if (this.dirty) writeFileAtomic(this.file, JSON.stringify({ durations: this.durations }));
    this.dirty = false;
  }
}
