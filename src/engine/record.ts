// The one way a target's result enters sbuild.lock: the entry made from its fingerprint
// record and outputs, set in the lock and appended to the journal at once (so a build killed
// right after keeps it). The build and `sbuild adopt` both record through this.
import type { OutputRecord, LockEntry } from './lockfile.js';
import { Journal, journalPath } from './lockfile.js';
import { entryFrom, type Current } from './rebuilder.js';
import type { Workspace } from './workspace.js';

export class LockRecorder {
  private readonly journal: Journal;

  /**
   * `journal`: a build's own journal (engine/live-builds.ts), which its end folds into
   * sbuild.lock; without one, the exclusive commands' journal, which save() makes redundant.
   */
  constructor(private readonly ws: Workspace, private readonly own?: string) {
    this.journal = new Journal(own ?? journalPath(ws.root));
  }

  record(name: string, cur: Current, outputs: Record<string, OutputRecord>): LockEntry {
    const entry = entryFrom(cur, outputs);
    this.ws.lock.entries.set(name, entry);
    this.ws.lock.dirty = true;
    this.journal.record(name, entry);
    return entry;
  }

  /**
   * The end: with a build's own journal, only closed (the build folds it into sbuild.lock
   * under the state lock); otherwise sbuild.lock and the stat cache are written and the
   * journal goes.
   */
  save(): void {
    if (this.own !== undefined) {
      this.journal.close(false);
      return;
    }
    this.ws.save();
    this.journal.close(true);
  }
}
