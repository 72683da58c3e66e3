// Outputs a run names itself: the folders it creates in its target's `runFolders` (MMEngine
// makes `work_dir/<timestamp>/` per run, holding that run's log and curves). What each such
// folder held is listed just before the command starts; the folders that appeared by the
// time it succeeded are recorded with its declared outputs (sbuild.lock, the cache), and
// checked and restored like them. Only folders directly inside a run folder count, so a
// cache entry can never name anything else as one.
import fs from 'node:fs';
import path from 'node:path';
import type { GraphNode } from '../graph/graph.js';

export type RunFolderListing = Map<string, Set<string>>;

/** What each run folder holds now (before the command starts). */
export function listRunFolders(root: string, node: GraphNode): RunFolderListing | undefined {
  if (!node.runFolders) return undefined;
  const out: RunFolderListing = new Map();
  for (const dir of node.runFolders) out.set(dir, new Set(entries(root, dir).map((e) => e.name)));
  return out;
}

/** The folders that appeared in the run folders since `before` (workspace-relative, sorted). */
export function createdFolders(root: string, node: GraphNode, before: RunFolderListing | undefined): string[] {
  if (!before) return [];
  const made: string[] = [];
  for (const [dir, had] of before) {
    for (const e of entries(root, dir)) if (e.isDirectory() && !had.has(e.name)) made.push(`${dir}/${e.name}`);
  }
  return made.sort();
}

/** Whether a recorded output path is a folder directly inside one of the target's run folders. */
export function isRunFolderOutput(node: GraphNode, p: string): boolean {
  return (node.runFolders ?? []).some((dir) => p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('/'));
}

/** The recorded outputs that are not declared: the folders a run created (see isRunFolderOutput). */
export function runFolderOutputs(node: GraphNode, outputs: Record<string, unknown>): string[] {
  if (!node.runFolders) return [];
  const declared = new Set(node.outputs);
  return Object.keys(outputs).filter((p) => !declared.has(p)).sort();
}

function entries(root: string, dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch {
    return [];
  }
}
