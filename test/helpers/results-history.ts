// A test repository of three commits for `sbuild results` and the report's runs across
// commits: experiments a (lr 1, then 2) and b (lr 3), each a train (its lr a param) and val and
// test evaluations whose metrics follow from the lr; then a variant a@lr=4, and b's val
// metrics edited by hand without a rebuild.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Rig } from './rig.js';

const FAKE = `
import fs from 'node:fs';
import path from 'node:path';
const [cmd, a, b, split] = process.argv.slice(2);
fs.mkdirSync(path.dirname(b), { recursive: true });
if (cmd === 'train') fs.writeFileSync(b, fs.readFileSync(a));
else {
  const { lr } = JSON.parse(fs.readFileSync(a, 'utf8'));
  const f = split === 'val' ? 1 : 2;
  fs.writeFileSync(b, JSON.stringify({ split, AP: Number((lr * 0.1 * f).toFixed(4)), AP50: Number((lr * 0.2 * f).toFixed(4)), per_class_AP: { ship: lr } }) + '\\n');
}
`;

/** Experiments `name` → lr; each a train (its lr a param) and val/test evaluations. */
export function configure(r: Rig, exps: Record<string, number>): void {
  const targets: object[] = [];
  for (const [name, lr] of Object.entries(exps)) {
    const cfg = `configs/${name.replace(/[@=]/g, '_')}.json`;
    r.write(cfg, JSON.stringify({ lr }) + '\n');
    targets.push({ name: `exp/${name}/full/train`, inputs: [cfg], outputs: [`work/${name}/model.json`], params: { lr }, run: ['node', 'fake.mjs', 'train', cfg, `work/${name}/model.json`] });
    for (const split of ['val', 'test']) {
      targets.push({ name: `exp/${name}/full/eval-${split}`, inputs: [`work/${name}/model.json`], outputs: [`work/${name}/${split}_metrics.json`], run: ['node', 'fake.mjs', 'eval', `work/${name}/model.json`, `work/${name}/${split}_metrics.json`, split] });
    }
  }
  r.config(`{ targets: ${JSON.stringify(targets)} }`);
}

export function git(r: Rig, args: string[]): string {
  const res = spawnSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd: r.dir, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  return res.stdout.trim();
}

function commit(r: Rig, message: string): string {
  git(r, ['add', '-A']);
  git(r, ['commit', '-qm', message]);
  return git(r, ['rev-parse', 'HEAD']);
}

function build(r: Rig): void {
  const res = r.run(['exp/**']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
}

/** Three commits: a at lr 1 and b at lr 3; a at lr 2; a variant of a at lr 4, and b's val metrics edited by hand. */
export function resultsHistory(r: Rig): { r: Rig; c: string[] } {
  r.write('fake.mjs', FAKE);
  r.write('.gitignore', '.sbuild/\n');
  git(r, ['init', '-q']);
  configure(r, { a: 1, b: 3 });
  build(r);
  const c1 = commit(r, 'a at lr 1, b at lr 3');
  configure(r, { a: 2, b: 3 });
  build(r);
  const c2 = commit(r, 'a: lr 2');
  configure(r, { a: 2, 'a@lr=4': 4, b: 3 });
  build(r);
  r.write('work/b/val_metrics.json', JSON.stringify({ split: 'val', AP: 0.99, AP50: 0.6, per_class_AP: { ship: 3 } }) + '\n');
  const c3 = commit(r, 'variant a@lr=4; b val edited');
  return { r, c: [c1, c2, c3] };
}

