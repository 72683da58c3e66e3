// The one way a target's result enters sbuild.lock: the entry made from its fingerprint
// record and outputs, set in the lock and appended to the journal at once (so a build killed
// right after keeps it). The build and `sbuild adopt` both record through this.
import type { OutputRecord, LockEntry } from './lockfile.js';
import { Journal } from './lockfile.js';
import { entryFrom, type Current } from './rebuilder.js';
import type { Workspace } from './workspace.js';

export class LockRecorder {
  private readonly journal: Journal;

  constructor(private readonly ws: Workspace) {
    this.journal = new Journal(ws.root);
  }

  record(name: string, cur: Current, outputs: Record<string, OutputRecord>): LockEntry {
    const entry = entryFrom(cur, outputs);
    this.ws.lock.entries.set(name, entry);
    this.ws.lock.dirty = true;
    this.journal.record(name, entry);
    return entry;
  }

  /** Writes sbuild.lock and the stat cache; the journal is then redundant. */
  save(): void {
    this.ws.save();
    this.journal.close(true);
  }
}
