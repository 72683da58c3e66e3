// Absent intermediates. On a fresh clone a target can be fresh (its record holds) while its
// outputs are not on disk; it stays so until a dependent that must run needs those files.
// This tracks which targets are absent, which are being produced (restored or rerun) for a
// dependent, and which dependents wait for them, and says what each event releases; the
// scheduler acts on the answers.
import type { Graph } from '../graph/graph.js';
import type { Current } from './rebuilder.js';

/** A dependent whose wait ended: its absent inputs all came back (`ok`), or one could not be produced. */
export interface Released {
  id: number;
  ok: boolean;
  /** It is itself an absent target being produced for another dependent. */
  producing: boolean;
}

export class AbsentTargets {
  private readonly absent = new Map<number, Current>();
  private readonly producing = new Set<number>();
  /** Dependents held until the absent upstreams they read are produced. */
  private readonly held = new Map<number, Set<number>>();

  constructor(private readonly graph: Graph) {}

  clear(): void {
    this.absent.clear();
    this.producing.clear();
    this.held.clear();
  }

  mark(id: number, cur: Current): void {
    this.absent.set(id, cur);
  }

  isProducing(id: number): boolean {
    return this.producing.has(id);
  }

  /** Absent (or being produced) upstream targets whose files this target reads, through groups. */
  inputsOf(id: number): number[] {
    const out: number[] = [];
    const seen = new Set<number>();
    const stack = [...this.graph.nodes[id]!.deps];
    while (stack.length) {
      const d = stack.pop()!;
      if (seen.has(d)) continue;
      seen.add(d);
      const dn = this.graph.nodes[d]!;
      if (dn.group) stack.push(...dn.deps);
      else if (this.absent.has(d) || this.producing.has(d)) out.push(d);
    }
    return out;
  }

  /**
   * Holds a target until the absent files it reads are produced. Returns the absent upstreams
   * that must now be produced, each with its fingerprint record (the others are on their way).
   */
  hold(id: number, need: number[]): Array<{ id: number; cur: Current }> {
    this.held.set(id, new Set(need));
    const start: Array<{ id: number; cur: Current }> = [];
    for (const u of need) {
      const cur = this.take(u);
      if (cur) start.push({ id: u, cur });
    }
    return start;
  }

  /** Starts producing an absent target: its record, or undefined when already under way. */
  take(id: number): Current | undefined {
    const cur = this.absent.get(id);
    if (!cur) return undefined;
    this.absent.delete(id);
    this.producing.add(id);
    return cur;
  }

  /** An absent upstream is back (or failed): the dependents whose wait this ends. */
  produced(id: number, ok: boolean): Released[] {
    this.producing.delete(id);
    const out: Released[] = [];
    for (const [d, need] of this.held) {
      if (!need.delete(id)) continue;
      if (ok && need.size) continue;
      this.held.delete(d);
      const producing = this.producing.has(d);
      // A held absent target whose inputs are back is produced next (the caller takes it again).
      if (producing && ok) this.producing.delete(d);
      out.push({ id: d, ok, producing });
    }
    return out;
  }
}
