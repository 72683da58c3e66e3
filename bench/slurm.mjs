// Overhead of a target run on Slurm, against `sbatch --wait` alone, on a local single-node
// cluster started like the tests start it (needs `npm run build` and Debian's slurm-wlm + munge).
//   node bench/slurm.mjs [runs=7] [parallel=8]
// 1. one job:  `sbuild -B t` (t = `true` on Slurm: submit → start → recorded) vs `sbatch --parsable --wait --wrap true`
// 2. a batch:  `parallel` independent Slurm targets in one build vs as many `sbatch --wait` at once
import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { startSlurm, slurmAvailable } = await import(path.join(repo, 'dist/test/helpers/slurm.js'));
const why = slurmAvailable();
if (why) {
  console.error(why);
  process.exit(2);
}
const runs = Number(process.argv[2] ?? 7);
const parallel = Number(process.argv[3] ?? 8);
const cluster = await startSlurm({ gpus: 2 });
const env = { ...cluster.env, CI: '1' };
const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-slurm-bench-'));
try {
  fs.mkdirSync(path.join(ws, 'node_modules'));
  fs.symlinkSync(repo, path.join(ws, 'node_modules', 'sbuild'), 'dir');
  const many = Array.from({ length: parallel }, (_, i) => `{ name: 'p/${i}', executor: 'slurm', outputs: ['out/p${i}'], run: 'touch out/p${i}' }`).join(',\n');
  fs.writeFileSync(path.join(ws, 'tasks.config.ts'), `import { defineConfig } from 'sbuild';
export default defineConfig({ slurm: { settleSeconds: 0 }, targets: [
  { name: 't', executor: 'slurm', outputs: ['out/t'], run: 'touch out/t' },
  ${many},
  { name: 'all', deps: [${Array.from({ length: parallel }, (_, i) => `'p/${i}'`).join(', ')}] },
] });
`);
  const cli = path.join(repo, 'bin', 'sbuild.js');
  const time = (fn) => {
    const t0 = performance.now();
    fn();
    return (performance.now() - t0) / 1000;
  };
  const ok = (r, what) => {
    if (r.status !== 0) throw new Error(`${what} failed: ${r.stdout}${r.stderr}`);
  };
  const sbuild = (args) => ok(spawnSync(process.execPath, [cli, '-q', ...args], { cwd: ws, env, encoding: 'utf8' }), `sbuild ${args.join(' ')}`);
  const sbatch = () => ok(spawnSync('sbatch', ['--parsable', '--wait', '--output=/dev/null', '--wrap', 'true'], { cwd: ws, env, encoding: 'utf8' }), 'sbatch');
  const sbatchMany = () =>
    Promise.all(Array.from({ length: parallel }, () => new Promise((resolve, reject) => {
      const c = spawn('sbatch', ['--parsable', '--wait', '--output=/dev/null', '--wrap', 'true'], { cwd: ws, env, stdio: 'ignore' });
      c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sbatch exit ${code}`))));
    })));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const noop = () => ok(spawnSync(process.execPath, ['-e', '0']), 'node');
  sbuild(['t']); // warm: config compiled, first job
  const one = { sbuild: [], sbatch: [], node: [] };
  for (let i = 0; i < runs; i++) {
    one.sbatch.push(time(sbatch));
    one.sbuild.push(time(() => sbuild(['-B', 't'])));
    one.node.push(time(noop));
  }
  const batch = { sbuild: [], sbatch: [] };
  sbuild(['all']);
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await sbatchMany();
    batch.sbatch.push((performance.now() - t0) / 1000);
    batch.sbuild.push(time(() => sbuild(['-B', 'all'])));
  }
  const f = (x) => `${x.toFixed(3)} s`;
  console.log(`one job, median of ${runs}: sbuild -B t ${f(median(one.sbuild))}; sbatch --wait alone ${f(median(one.sbatch))}; node -e 0 ${f(median(one.node))}; overhead ${f(median(one.sbuild) - median(one.sbatch))}`);
  console.log(`${parallel} jobs at once, median of ${runs}: sbuild -B all ${f(median(batch.sbuild))}; ${parallel} × sbatch --wait in parallel ${f(median(batch.sbatch))}`);
} finally {
  await cluster.stop();
  fs.rmSync(ws, { recursive: true, force: true });
}
