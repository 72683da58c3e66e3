// A fresh copy of this repository as a clone has it: the tracked files, plus what
// `npm install` provides (node_modules, the built package), in a temp folder.
import { after } from 'node:test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './rig.js';

/** The tracked files of this repository plus what `npm install` provides (node_modules, the built package). */
function freshClone(dirs: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-demo-'));
  dirs.push(dir);
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    const src = path.join(REPO, f);
    if (!fs.existsSync(src)) continue;
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(src, path.join(dir, f));
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  for (const d of ['src', 'cli', 'rules']) fs.cpSync(path.join(REPO, 'dist', d), path.join(dir, 'dist', d), { recursive: true });
  return dir;
}

/** A maker of fresh copies that are all removed when the test file ends. */
export function useClones(): () => string {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  return () => freshClone(dirs);
}
