// Evaluation: precision / recall / F1 of a calibrated threshold on a split.
import fs from 'node:fs';
const [data, model, out] = process.argv.slice(2);
const { samples, truth } = JSON.parse(fs.readFileSync(`${data}/signal.json`, 'utf8'));
const { threshold, detector } = JSON.parse(fs.readFileSync(model, 'utf8'));
const t = new Set(truth);
let tp = 0, fp = 0;
samples.forEach((v, i) => { if (v > threshold) (t.has(i) ? tp++ : fp++); });
const precision = tp / Math.max(1, tp + fp);
const recall = tp / Math.max(1, t.size);
const f1 = (2 * precision * recall) / Math.max(1e-9, precision + recall);
const r4 = (x) => +x.toFixed(4);
fs.writeFileSync(out, JSON.stringify({ detector, precision: r4(precision), recall: r4(recall), f1: r4(f1) }, null, 2) + '\n');
