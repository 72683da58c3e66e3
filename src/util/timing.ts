// `-d stats`-style phase timings: set SBUILD_TIMING=1 to print where start-up time goes.
const enabled = process.env.SBUILD_TIMING === '1';
let last = performance.now();
const phases: Array<[string, number]> = [];

export function phase(name: string): void {
  if (!enabled) return;
  const now = performance.now();
  phases.push([name, now - last]);
  last = now;
}

export function printPhases(): void {
  if (!enabled) return;
  phase('rest');
  const total = phases.reduce((a, [, ms]) => a + ms, 0);
  process.stderr.write(`sbuild timing (ms since process start ${performance.now().toFixed(1)}, of which measured ${total.toFixed(1)}):\n`);
  for (const [n, ms] of phases) process.stderr.write(`  ${n.padEnd(16)} ${ms.toFixed(1)}\n`);
}
