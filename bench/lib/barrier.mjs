// A start barrier, loaded with `node --import`: when SBUILD_BARRIER names a folder, the process
// writes `ready-<pid>` there and holds until `go` appears (polled every 0.2 ms), so that
// processes booted one after another begin their real work within the same millisecond.
// Used by bench/stress-concurrent.mjs and test/integration/concurrency.test.ts.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.SBUILD_BARRIER;
if (dir) {
  delete process.env.SBUILD_BARRIER; // not for the jobs this process starts
  fs.writeFileSync(path.join(dir, `ready-${process.pid}`), '');
  const go = path.join(dir, 'go');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync(go) && Date.now() < deadline) Atomics.wait(cell, 0, 0, 0.2);
  // When this one was let go (epoch ms, fractional), so the harness can report the spread.
  fs.writeFileSync(path.join(dir, `released-${process.pid}`), String(performance.timeOrigin + performance.now()));
}
