// The CI guard of docs/CI.md, run as the document writes it, on a fresh copy of the demo (as
// a CI checkout has it: no checkpoints, no .sbuild/): it passes; after a config edit that
// was not rebuilt it fails, naming the stale result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/rig.js';
import { useClones } from '../helpers/clone.js';

const freshClone = useClones();

/** The guard's arguments, from the workflow in docs/CI.md (`- run: npx sbuild status …`). */
function documentedGuard(): string[] {
  const doc = fs.readFileSync(path.join(REPO, 'docs', 'CI.md'), 'utf8');
  const m = /^\s*- run: npx sbuild (status --exit-code [^\n#]+?)\s*$/m.exec(doc);
  assert.ok(m, 'docs/CI.md has a `- run: npx sbuild status --exit-code …` step');
  return m[1]!.split(/\s+/);
}

test('the documented CI guard passes on a fresh copy of the demo, and fails naming the result a config edit left stale', () => {
  const dir = freshClone();
  const guard = documentedGuard();
  const run = () => spawnSync(process.execPath, [path.join(dir, 'bin', 'sbuild.js'), ...guard], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1', SARDET_ROOT: '' } });
  let r = run();
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^sbuild: \d+ fresh, 0 stale, 0 missing$/m);
  const cfg = path.join(dir, 'configs/sardet_mini/cfar_os.py');
  const text = fs.readFileSync(cfg, 'utf8');
  assert.match(text, /^model = dict\(.*$/m, 'the demo config still has the line this test edits');
  fs.writeFileSync(cfg, text.replace(/^model = dict\(.*$/m, "model = dict(type='OSCFAR', rank=0.6)"));
  r = run();
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^stale {3}results\/table — upstream exp\/cfar_os\/[a-z]+\/eval[a-z-]* will run/m);
  assert.match(r.stdout, /^stale {3}exp\/cfar_os\/full\/train — config changed: model\.rank: 0\.75 → 0\.6$/m);
});
