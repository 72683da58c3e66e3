// The rebuilder: "verifying traces" in the vocabulary of Build Systems à la Carte. A target
// is fresh when sbuild.lock holds its current fingerprint and every output still has its
// recorded hash; otherwise the lock entry and the current record are diffed into reasons.
import picomatch from 'picomatch';
import type { DiskGlob, Graph, GraphNode, Listing } from '../graph/graph.js';
import { closure, ownerAbove } from '../graph/graph.js';
import type { FileHasher } from '../hashing/file-hasher.js';
import { actionIdentity, commandIdentity, envHashes, fingerprintOf, FINGERPRINT_FORMAT, type FingerprintRecord } from '../hashing/fingerprint.js';
import { expandCommand } from '../config/params-template.js';
import type { Json } from '../config/types.js';
import type { Sha256 } from '../hashing/sha256.js';
import { canonicalJson } from '../hashing/sha256.js';
import type { LockEntry, OutputRecord } from './lockfile.js';
import { LINEAGE_PREFIX, type Decision, type Reason } from './reasons.js';
import { valueChanges } from './values.js';


const NO_PARAMS: { [k: string]: never } = Object.freeze({});
const NO_ENV: Record<string, never> = Object.freeze({});

export class Current {
  private fp: Sha256 | undefined;
  constructor(
    readonly record: FingerprintRecord,
    /** Inputs that do not exist (a to-run target with these fails). */
    readonly missing: string[],
    /** Tree hashes of the upstream output folders that inputs lie in (not fingerprinted). */
    readonly witness: Record<string, Sha256> = {},
    /** A command with params in it: its action identity under other params (to tell a param change from a command edit). */
    readonly actionWith?: (params: { [k: string]: Json }) => string | undefined,
    /**
     * The folder listings its input files were found through (globs, source folders), each
     * folder with its stat then (engine/input-guard.ts). A glob whose listing is not known
     * (`sbuild watch` updated its matches in place) adds none.
     */
    readonly listings: ReadonlyArray<Listing> = [],
  ) {}

  /** Hashed only when needed: a fresh target is recognised by comparing fields with its lock entry. */
  get fingerprint(): Sha256 {
    return (this.fp ??= fingerprintOf(this.record));
  }
}

/** Output records of upstream targets as they stand in this build (fresh: from the lock; ran: new). */
export type UpstreamOutputs = (id: number) => Record<string, OutputRecord> | undefined;

export class Rebuilder {
  private readonly negations = new Map<number, picomatch.Matcher | undefined>();
  private readonly globOutputs = new Map<string, string[]>();
  /** Per node id: constant for the life of the process, so computed once. */
  private readonly actions: string[] = [];
  private readonly sortedOutputs: string[][] = [];

  constructor(
    private readonly graph: Graph,
    private readonly hasher: FileHasher,
    private readonly env: NodeJS.ProcessEnv,
    private readonly diskGlob: DiskGlob,
    /** Hash of every config source file, for in-process actions without a declared rule. */
    private readonly configHash: string,
  ) {}

  /** Hashes the node's inputs and builds its fingerprint record. `reglob`: upstream ran, list files anew. */
  current(node: GraphNode, upstream: UpstreamOutputs, reglob: boolean, entry?: LockEntry, overlay?: Map<string, Sha256>): Current {
    const inputs: Record<string, Sha256> = {};
    const witness: Record<string, Sha256> = {};
    const missing: string[] = [];
    const listings: Listing[] = [];
    const addPath = (p: string, owner: number | undefined) => {
      if (owner !== undefined && owner !== node.id) {
        const recs = upstream(owner);
        const rec = recs?.[p];
        if (rec) {
          if (rec.files !== undefined) inputs[p + '/'] = rec.hash;
          else inputs[p] = rec.hash;
          return;
        }
        // A file inside another target's output folder: its hash comes from disk, and the
        // folder's tree hash is kept as a witness. Where the folder is absent (a fresh clone)
        // and its record still has the witnessed hash, the file is the one this target read.
        const folder = this.graph.nodes[owner]!.outputs.find((o) => p.startsWith(o + '/'));
        const frec = folder !== undefined ? recs?.[folder] : undefined;
        if (folder !== undefined && frec?.files !== undefined) {
          witness[folder + '/'] = frec.hash;
          const fh = overlay?.get(p) ?? this.hasher.hashFile(p)?.hash;
          if (fh) inputs[p] = fh;
          else if (this.hasher.kind(p) === 'dir') {
            // A sub-folder of an upstream output folder (a dataset split): its tree hash.
            const tree = this.hasher.hashTree(p);
            if (tree) inputs[p + '/'] = tree.hash;
            else missing.push(p);
          } else if (entry?.witness?.[folder + '/'] === frec.hash && entry.inputs[p] !== undefined) inputs[p] = entry.inputs[p]!;
          else if (entry?.witness?.[folder + '/'] === frec.hash && entry.inputs[p + '/'] !== undefined) inputs[p + '/'] = entry.inputs[p + '/']!;
          else missing.push(p);
          return;
        }
      }
      const fh = this.hasher.hashFile(p);
      if (fh) {
        inputs[p] = fh.hash;
        return;
      }
      const dirs: Listing = [];
      const tree = this.hasher.kind(p) === 'dir' ? this.hasher.hashTree(p, dirs) : undefined;
      if (tree) {
        for (const [f, h] of tree.entries) inputs[f] = h;
        listings.push(dirs);
      } else missing.push(p);
    };
    for (const { path, owner } of node.literalInputs) addPath(path, owner);
    for (const spec of node.globInputs) {
      const files = new Set(reglob ? this.relisted(spec) : this.graph.globMatches.get(spec) ?? []);
      const listing = reglob ? this.listingDirs.get(spec) : this.graph.globListings.get(spec);
      if (listing) listings.push(listing);
      for (const o of this.outputsMatching(spec)) files.add(o);
      // Dry runs: files a restore would bring back count as present.
      if (overlay?.size) {
        const m = this.globMatcher(spec);
        for (const p of overlay.keys()) if (m(p)) files.add(p);
      }
      for (const f of files) if (!(f in inputs)) addPath(f, ownerAbove(this.graph.outputOwner, f));
    }
    const neg = this.negation(node);
    if (neg) for (const k of Object.keys(inputs)) if (neg(k.replace(/\/$/, ''))) delete inputs[k];
    const t = node.target;
    if (t.lineage) for (const name of this.lineageOf(node)) inputs[LINEAGE_PREFIX + name] = (this.upstreamFingerprint(name) ?? 'none') as Sha256;
    const record: FingerprintRecord = {
      format: FINGERPRINT_FORMAT,
      action: (this.actions[node.id] ??= node.command !== undefined ? commandIdentity(node.command) : actionIdentity(t, this.configHash)),
      params: t.params ?? NO_PARAMS,
      env: t.env?.length ? envHashes(t.env, this.env) : NO_ENV,
      inputs,
      outputs: (this.sortedOutputs[node.id] ??= [...node.outputs].sort()),
    };
    return new Current(record, missing, witness, node.command !== undefined && node.command !== t.run ? actionWith(t.run as string | string[]) : undefined, listings);
  }

  /** The recorded fingerprint of a target in this build (set by the workspace: the lock). */
  upstreamFingerprint: (name: string) => string | undefined = () => undefined;

  private readonly lineages = new Map<number, string[]>();

  /** Names of every non-group target upstream of a node, sorted. */
  lineageOf(node: GraphNode): string[] {
    let names = this.lineages.get(node.id);
    if (!names) {
      names = [...closure(this.graph, node.deps)].filter((d) => !this.graph.nodes[d]!.group).map((d) => this.graph.nodes[d]!.name).sort();
      this.lineages.set(node.id, names);
    }
    return names;
  }

  /** Disk listings of globs taken during this build, until an output lands below their base. */
  private readonly listings = new Map<string, string[]>();
  /** The folders each of those listings read, with their stats then. */
  private readonly listingDirs = new Map<string, Listing>();
  /** The globs listed, by the folder their listing starts from ('' for the workspace). */
  private readonly listedFrom = new Map<string, Set<string>>();

  private relisted(spec: string): string[] {
    let files = this.listings.get(spec);
    if (!files) {
      const base = picomatch.scan(spec).base;
      const dirs: Listing = [];
      files = this.diskGlob([spec], dirs);
      this.listings.set(spec, files);
      this.listingDirs.set(spec, dirs);
      let specs = this.listedFrom.get(base);
      if (!specs) this.listedFrom.set(base, (specs = new Set()));
      specs.add(spec);
    }
    return files;
  }

  /**
   * A target wrote these outputs: listings that may include them (their base is the output,
   * a folder above it, or the workspace) are taken again. Found through the output's folders,
   * not by trying every listing: one per target is written in a build.
   */
  outputsWritten(paths: string[]): void {
    if (this.listings.size === 0) return;
    for (const p of paths) {
      this.dropListed('');
      for (let i = p.length; i > 0; i = p.lastIndexOf('/', i - 1)) this.dropListed(p.slice(0, i));
    }
  }

  /** Another build wrote in the workspace meanwhile: every glob is listed again. */
  forgetListings(): void {
    this.listings.clear();
    this.listingDirs.clear();
    this.listedFrom.clear();
  }

  private dropListed(base: string): void {
    const specs = this.listedFrom.get(base);
    if (!specs) return;
    this.listedFrom.delete(base);
    for (const spec of specs) {
      this.listings.delete(spec);
      this.listingDirs.delete(spec);
    }
  }

  private readonly matchers = new Map<string, picomatch.Matcher>();

  private globMatcher(spec: string): picomatch.Matcher {
    let m = this.matchers.get(spec);
    if (!m) this.matchers.set(spec, (m = picomatch(spec, { dot: true })));
    return m;
  }

  private outputsMatching(spec: string): string[] {
    let hit = this.globOutputs.get(spec);
    if (!hit) {
      const m = picomatch(spec, { dot: true });
      hit = [...this.graph.outputOwner.keys()].filter((o) => m(o));
      this.globOutputs.set(spec, hit);
    }
    return hit;
  }

  private negation(node: GraphNode): picomatch.Matcher | undefined {
    if (!this.negations.has(node.id)) {
      this.negations.set(node.id, node.excludes.length ? picomatch(node.excludes, { dot: true }) : undefined);
    }
    return this.negations.get(node.id);
  }

  /** Fresh, or stale with every reason found (inputs first, then outputs). */
  decide(cur: Current, entry: LockEntry | undefined, force: boolean): Decision {
    const reasons: Reason[] = [];
    if (force) reasons.push({ kind: 'forced' });
    for (const p of cur.missing) {
      // An upstream output that is absent (its producer failed or never ran) is not a blocked input.
      const owner = ownerAbove(this.graph.outputOwner, p);
      reasons.push({ kind: 'input-missing', path: p, ...(owner !== undefined ? { producer: this.graph.nodes[owner]!.name } : {}) });
    }
    if (!entry) {
      reasons.push({ kind: 'never-built' });
      return { fresh: false, reasons };
    }
    if (!sameRecord(entry, cur.record)) reasons.push(...diffRecord(entry, cur.record, this.graph.root, cur.actionWith));
    for (const [p, rec] of entry.runOutputs ? [...Object.entries(entry.outputs), ...Object.entries(entry.runOutputs)] : Object.entries(entry.outputs)) {
      const now = outputHash(this.hasher, p, rec);
      if (now === undefined) reasons.push({ kind: 'output-missing', path: p });
      else if (now !== rec.hash) reasons.push({ kind: 'output-modified', path: p, old: rec.hash, new: now });
    }
    return reasons.length ? { fresh: false, reasons } : { fresh: true };
  }


  /** Hashes a target's outputs after it ran; lists the declared outputs that were not produced. */
  hashOutputs(node: GraphNode, runFolders: readonly string[] = []): { outputs: Record<string, OutputRecord>; notProduced: string[] } {
    const outputs: Record<string, OutputRecord> = {};
    const notProduced: string[] = [];
    // The declared outputs, then the folders the run created in its run folders (run-folders.ts).
    for (const p of [...node.outputs, ...runFolders]) {
      this.hasher.forget(p);
      const fh = this.hasher.hashFile(p);
      if (fh) {
        outputs[p] = { hash: fh.hash, size: fh.size };
        continue;
      }
      const tree = this.hasher.kind(p) === 'dir' ? this.hasher.hashTree(p) : undefined;
      if (tree) outputs[p] = { hash: tree.hash, size: tree.size, files: tree.files };
      else notProduced.push(p);
    }
    return { outputs, notProduced };
  }
}

/** The current content hash of a recorded output (file or folder tree); undefined when absent. */
export function outputHash(hasher: FileHasher, p: string, rec: OutputRecord): string | undefined {
  if (rec.files === undefined) return hasher.hashFile(p)?.hash;
  return hasher.kind(p) === 'dir' ? hasher.hashTree(p)?.hash : undefined;
}

/**
 * True when the entry was built from exactly this record. Equivalent to comparing
 * fingerprints (every fingerprinted field is in the entry) without hashing anything.
 */
export function sameRecord(e: LockEntry, r: FingerprintRecord): boolean {
  if (e.action !== r.action || !sameMap(e.inputs, r.inputs) || !sameMap(e.env, r.env)) return false;
  let n = 0;
  for (const _ in e.outputs) n++;
  if (n !== r.outputs.length) return false;
  for (const o of r.outputs) if (!(o in e.outputs)) return false;
  let emptyA = true;
  for (const _ in e.params) { emptyA = false; break; }
  let emptyB = true;
  for (const _ in r.params) { emptyB = false; break; }
  return emptyA && emptyB ? true : canonicalJson(e.params) === canonicalJson(r.params);
}

function sameMap(a: Record<string, string | null>, b: Record<string, string | null>): boolean {
  let n = 0;
  for (const k in b) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in a) n--;
  return n === 0;
}

/** A command template's action identity under given params (undefined where one is missing). */
function actionWith(run: string | string[]): (params: { [k: string]: Json }) => string | undefined {
  return (params) => {
    const e = expandCommand(run, params);
    return e.ok ? commandIdentity(e.command) : undefined;
  };
}

/**
 * Every difference between the recorded entry and the current record. `actionWith`: for a
 * command with params in it, a changed command that the recorded params would turn back into
 * the recorded one is the param change (reported as such), not an edit of the command.
 */
export function diffRecord(entry: LockEntry, rec: FingerprintRecord, root?: string, actionWith?: (params: { [k: string]: Json }) => string | undefined): Reason[] {
  const reasons: Reason[] = [];
  if (entry.action !== rec.action && actionWith?.(entry.params) !== entry.action) reasons.push({ kind: 'action-changed', old: entry.action, new: rec.action });
  const keys = new Set([...Object.keys(entry.params), ...Object.keys(rec.params)]);
  for (const k of [...keys].sort()) {
    const a = entry.params[k];
    const b = rec.params[k];
    if (canonicalJson(a) === canonicalJson(b)) continue;
    // A values param (a merged config): name the keys that changed when both values are known.
    const changes = root !== undefined ? valueChanges(root, a, b) : undefined;
    reasons.push({ kind: 'param-changed', key: k, old: a, new: b, ...(changes ? { changes } : {}) });
  }
  const envs = new Set([...Object.keys(entry.env), ...Object.keys(rec.env)]);
  for (const k of [...envs].sort()) {
    if (entry.env[k] !== rec.env[k]) {
      reasons.push({ kind: 'env-changed', name: k, old: entry.env[k] ? 'set' : 'unset', new: rec.env[k] ? 'set' : 'unset' });
    }
  }
  const paths = new Set([...Object.keys(entry.inputs), ...Object.keys(rec.inputs)]);
  for (const p of [...paths].sort()) {
    const a = entry.inputs[p];
    const b = rec.inputs[p];
    if (a === b) continue;
    if (a === undefined) reasons.push({ kind: 'input-added', path: p, new: b! });
    else if (b === undefined) reasons.push({ kind: 'input-removed', path: p, old: a });
    else reasons.push({ kind: 'input-changed', path: p, old: a, new: b });
  }
  const oldOut = Object.keys(entry.outputs).sort();
  if (canonicalJson(oldOut) !== canonicalJson(rec.outputs)) reasons.push({ kind: 'outputs-changed', old: oldOut, new: rec.outputs });
  // Same visible fields but another fingerprint: the record format itself changed.
  if (reasons.length === 0) reasons.push({ kind: 'format-changed' });
  return reasons;
}

/** `outputs`: the declared outputs, and any folders the run created in its run folders (kept apart: they are not fingerprinted). */
export function entryFrom(cur: Current, outputs: Record<string, OutputRecord>): LockEntry {
  const declared = new Set(cur.record.outputs);
  let own: Record<string, OutputRecord> = outputs;
  let runOutputs: Record<string, OutputRecord> | undefined;
  if (Object.keys(outputs).some((p) => !declared.has(p))) {
    own = {};
    runOutputs = {};
    for (const [p, r] of Object.entries(outputs)) (declared.has(p) ? own : runOutputs)[p] = r;
  }
  return {
    fingerprint: cur.fingerprint,
    action: cur.record.action,
    params: cur.record.params,
    env: cur.record.env,
    inputs: cur.record.inputs,
    outputs: own,
    ...(runOutputs ? { runOutputs } : {}),
    ...(Object.keys(cur.witness).length ? { witness: cur.witness } : {}),
  };
}
