// Ctrl-C on a terminal: the progress display (listr2) must not take the signal over and exit
// at once (it did, with code 127, before the build could stop its jobs and save): the build
// says it was interrupted, records what finished, and exits 130. Run under `script`, which
// gives sbuild a real pseudo-terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { CLI, sh, useRigs, waitFor } from '../helpers/rig.js';

const rig = useRigs();
const noScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'script (util-linux) is not installed (apt-get install -y bsdutils)';

test('Ctrl-C on a terminal: the build stops its job, records what finished, and exits 130', { skip: noScript }, async () => {
  const r = rig();
  r.config(`{
    default: 'all',
    targets: [
      { name: 'quick', outputs: ['q.txt'], run: ${JSON.stringify(sh('quick', 'echo q > q.txt'))} },
      { name: 'slow', deps: ['quick'], outputs: ['s.txt'], run: ${JSON.stringify(sh('slow', 'sleep 60; echo s > s.txt'))} },
      { name: 'all', deps: ['slow'] },
    ],
  }`);
  const transcript = r.path('tty.txt');
  // CI unset: sbuild sees a terminal and draws its progress with listr2.
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm' };
  delete env.CI;
  const child = spawn('script', ['-qfec', `stty cols 120 rows 40; ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)}`, transcript], { cwd: r.dir, env, stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  await waitFor(() => r.exists('runs.log') && r.read('runs.log').includes('slow'));
  // The signal a terminal sends to sbuild (its job gets it from sbuild, as its own group).
  // This test's sbuild: the one working in its folder (test files running beside it start others).
  const pids = spawnSync('pgrep', ['-f', `${CLI}$`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean)
    .filter((pid) => { try { return fs.readlinkSync(`/proc/${pid}/cwd`) === r.dir; } catch { return false; } });
  assert.equal(pids.length, 1, `one sbuild: ${pids.join(' ')}`);
  process.kill(Number(pids[0]), 'SIGINT');
  const code = await exited;
  // `script -e` exits with the code of the command it ran.
  assert.equal(code, 130, fs.readFileSync(transcript, 'utf8'));
  assert.match(fs.readFileSync(transcript, 'utf8'), /interrupted/);
  assert.equal(r.exists('s.txt'), false);
  assert.equal(spawnSync('pgrep', ['-f', 'sleep 60; echo s'], { encoding: 'utf8' }).stdout.trim(), '', 'the job was stopped');
  // What finished is recorded: the next build runs only the interrupted target.
  const again = r.run(['quick']);
  assert.match(again.stdout, /^sbuild: 0 ran, 1 fresh/m);
});
