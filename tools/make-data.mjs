// Deterministic synthetic 1-D "SAR" signal: speckle clutter with a few bright targets.
import fs from 'node:fs';
const [out, seedArg] = process.argv.slice(2);
let s = Number(seedArg ?? 1);
const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
const n = 4000;
const samples = [];
const truth = [];
for (let i = 0; i < n; i++) {
  const clutter = -Math.log(1 - rand()); // exponential intensity (single-look speckle)
  const isTarget = rand() < 0.02;
  samples.push(+(clutter + (isTarget ? 2 + 6 * rand() : 0)).toFixed(4));
  if (isTarget) truth.push(i);
}
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(`${out}/signal.json`, JSON.stringify({ samples, truth }));
