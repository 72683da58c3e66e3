// "Training": pick the threshold (scale of the clutter mean) that maximises F1 on the data.
import fs from 'node:fs';
const [data, config, out] = process.argv.slice(2);
const { samples, truth } = JSON.parse(fs.readFileSync(`${data}/signal.json`, 'utf8'));
const cfg = JSON.parse(fs.readFileSync(config, 'utf8'));
const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
const t = new Set(truth);
let best = { scale: 0, f1: -1 };
for (let scale = cfg.minScale; scale <= cfg.maxScale; scale += cfg.step) {
  let tp = 0, fp = 0;
  samples.forEach((v, i) => { if (v > scale * mean) (t.has(i) ? tp++ : fp++); });
  const f1 = (2 * tp) / (2 * tp + fp + (t.size - tp));
  if (f1 > best.f1) best = { scale: +scale.toFixed(4), f1 };
}
fs.writeFileSync(out, JSON.stringify({ detector: cfg.detector, threshold: best.scale * mean, scale: best.scale }, null, 2) + '\n');
