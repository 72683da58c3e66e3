// sbuild.lock's entries, parsed when first asked for. A build that changed one experiment
// reads and writes a lock of thousands of entries but looks at a handful: parsing all of them
// (and building their objects, which the garbage collector then walks) cost more than the
// build's own bookkeeping. A lock in the layout this code writes is cut into one text per
// entry by its lines; each entry is parsed on first use, and an entry that was not replaced
// is written back as the very text it was read as. Parsed entries are frozen: a change made in
// place, which that text would not carry, throws instead of being lost.
//
// The cut is exact for that layout: JSON strings hold no raw newline, an entry's own lines are
// indented by six spaces or more, so the line "    }" closes it. Any other layout (an older
// writer, a hand edit, a merge conflict) is not cut: the whole lock is parsed as before.
import type { LockEntry } from './lockfile.js';

const OPEN = (fingerprintFormat: number, format: number) => `{\n  "format": ${format},\n  "fingerprintFormat": ${fingerprintFormat},\n  "targets": {`;
const CLOSE_ENTRY = '\n    }';
const END = '\n  }\n}\n';

/** Entry texts by target name, when `text` is in the layout `serializeLock` writes; else undefined. */
export function cutEntries(text: string, format: number, fingerprintFormat: number): Map<string, string> | undefined {
  const open = OPEN(fingerprintFormat, format);
  if (!text.startsWith(open)) return undefined;
  const raw = new Map<string, string>();
  if (text.length === open.length + 4 && text.endsWith('}\n}\n')) return raw; // "targets": {}
  // Conflict markers can sit inside an entry without breaking the cut: parse all, and fail as a whole.
  if (text.includes('\n<<<<<<<') || text.includes('\n>>>>>>>') || text.includes('\n=======')) return undefined;
  let at = open.length;
  for (;;) {
    if (!text.startsWith('\n    "', at)) return undefined;
    const eol = text.indexOf('\n', at + 1);
    if (eol < 0 || !text.startsWith('": {', eol - 4)) return undefined;
    let name: unknown;
    try {
      name = JSON.parse(text.slice(at + 5, eol - 3));
    } catch {
      return undefined;
    }
    if (typeof name !== 'string') return undefined;
    const close = text.indexOf(CLOSE_ENTRY, eol);
    if (close < 0) return undefined;
    const end = close + CLOSE_ENTRY.length;
    raw.set(name, text.slice(eol - 1, end));
    if (text.startsWith(',', end)) {
      at = end + 1;
      continue;
    }
    return text.length === end + END.length && text.endsWith(END) ? raw : undefined;
  }
}

/**
 * The lock's entries: a Map whose values are parsed from their text on first use. `parse`
 * turns one entry's text into the entry, or undefined when it is not a valid entry (which then
 * counts as absent: its target is judged never built, never fresh).
 */
export class LockEntries extends Map<string, LockEntry> {
  /** Texts of entries parsed since, while they are not replaced. */
  private readonly texts = new Map<string, string>();

  /** `raw`: entry texts not parsed yet (cutEntries), each parsed by `parse` when first asked for. */
  constructor(
    private readonly raw: Map<string, string>,
    private readonly parse: (name: string, text: string) => LockEntry | undefined,
  ) {
    super();
  }

  /** The text an entry was read as, while it is not replaced. */
  rawText(name: string): string | undefined {
    return this.raw.get(name) ?? this.texts.get(name);
  }

  /**
   * Whether the lock holds an entry by this name, without parsing it. Only for a target whose
   * entry this build has already vouched for (the no-op snapshot's clean targets): a corrupt
   * entry counts as absent only once parsed.
   */
  holds(name: string): boolean {
    return this.raw.has(name) || super.has(name);
  }

  private take(name: string): void {
    const text = this.raw.get(name)!;
    this.raw.delete(name);
    const e = this.parse(name, text);
    if (e === undefined) return;
    super.set(name, freeze(e));
    this.texts.set(name, text);
  }

  /** Every entry parsed (for whoever walks them all). */
  private all(): void {
    for (const name of [...this.raw.keys()]) this.take(name);
  }

  override get(name: string): LockEntry | undefined {
    if (this.raw.has(name)) this.take(name);
    return super.get(name);
  }

  override has(name: string): boolean {
    if (this.raw.has(name)) this.take(name);
    return super.has(name);
  }

  override set(name: string, e: LockEntry): this {
    this.raw.delete(name);
    this.texts.delete(name);
    return super.set(name, e);
  }

  override delete(name: string): boolean {
    const had = this.raw.delete(name);
    this.texts.delete(name);
    return super.delete(name) || had;
  }

  override clear(): void {
    this.raw.clear();
    this.texts.clear();
    super.clear();
  }

  override get size(): number {
    this.all();
    return super.size;
  }

  /** Names without parsing anything: those still as text, then those parsed or set. */
  names(): string[] {
    return [...this.raw.keys(), ...super.keys()];
  }

  override keys(): MapIterator<string> {
    this.all();
    return super.keys();
  }

  override values(): MapIterator<LockEntry> {
    this.all();
    return super.values();
  }

  override entries(): MapIterator<[string, LockEntry]> {
    this.all();
    return super.entries();
  }

  override [Symbol.iterator](): MapIterator<[string, LockEntry]> {
    return this.entries();
  }

  override forEach(fn: (value: LockEntry, key: string, map: Map<string, LockEntry>) => void, thisArg?: unknown): void {
    this.all();
    super.forEach(fn, thisArg);
  }
}

/** The entry and everything in it, frozen (see the header). */
function freeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const k in v) freeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}
