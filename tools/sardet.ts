// sardet: the SARDet-mini demo's experiment programs, one entry with subcommands.
//
//   generate   the synthetic dataset (COCO annotations + grayscale PNGs)
//   prior      clutter statistics of a split (the detectors' "pretrained weights")
//   calibrate  "train": fit a detector's threshold, box offsets and classifier on a split
//   evaluate   COCO AP of a calibrated detector on a split
//   vr         images with ground-truth (green) and predicted (red) boxes, plus metrics.json
//   saliency   heat maps of the detector's test statistic (the Grad-CAM stage)
//
// Exit codes: 0 ok, 1 failed (bad input files), 2 usage or config error.
import { performance } from 'node:perf_hooks';
import { MmConfigError } from '../rules/mmconfig.js';
import { Flags, ToolError, UsageError } from './sardet/args.js';
import { calibrate } from './sardet/calibrate.js';
import { generate } from './sardet/generate.js';
import { evaluate, saliency, vr } from './sardet/infer.js';
import { writeFileAtomic, writeJson } from './sardet/io.js';
import { ConfigError, setCfgOptions } from './sardet/model.js';
import { parseCfgValue } from '../src/config/settings.js';
import { computePrior } from './sardet/prior.js';

const USAGE: Record<string, string> = {
  generate: '--out DIR [--seed 0] [--train 160] [--val 60] [--test 60] [--size 256]',
  prior: '--data DIR --split SPLIT --out FILE.json',
  calibrate: '--config CFG.py --data DIR --split SPLIT [--limit N] --out CKPT.json [--log LOG.txt] [--root ROOT] [--cfg-options KEY=VALUE ...]',
  evaluate: '--config CFG.py --checkpoint CKPT.json --data DIR --split SPLIT [--limit N] --out METRICS.json [--predictions PRED.json] [--root ROOT] [--cfg-options KEY=VALUE ...]',
  vr: '--config CFG.py --checkpoint CKPT.json --data DIR --split SPLIT --out OUTDIR [--metrics METRICS.json] [--limit N] [--root ROOT] [--cfg-options KEY=VALUE ...]',
  saliency: '--config CFG.py --checkpoint CKPT.json --data DIR --split SPLIT --images LIST.txt --out OUTDIR [--root ROOT] [--cfg-options KEY=VALUE ...]',
};

function usage(): string {
  return ['usage: sardet <command> [--flag value ...]', ...Object.entries(USAGE).map(([c, u]) => `  sardet ${c} ${u}`)].join('\n');
}

/** The flag names a usage line mentions. */
function known(command: string): string[] {
  return [...(USAGE[command] ?? '').matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!);
}

/** Progress lines: to stdout, and kept for a --log file (which gets no timings, so it is reproducible). */
const logged: string[] = [];
const log = (line: string): void => {
  logged.push(line);
  process.stdout.write(line + '\n');
};

function run(argv: string[]): void {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === undefined) throw new UsageError('no command given');
    process.stdout.write(usage() + '\n');
    return;
  }
  if (!(command in USAGE)) throw new UsageError(`unknown command '${command}'`);
  const f = new Flags(rest, known(command));
  const limit = f.optInt('limit', 1, 1_000_000);
  const root = f.optStr('root');
  setCfgOptions(f.list('cfg-options').map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--cfg-options takes KEY=VALUE arguments, got '${item}'`);
    return [item.slice(0, eq), parseCfgValue(item.slice(eq + 1))];
  }));
  const started = performance.now();
  switch (command) {
    case 'generate': {
      const size = f.int('size', 256, 96, 4096);
      const counts = { train: f.int('train', 160, 1, 99999), val: f.int('val', 60, 1, 99999), test: f.int('test', 60, 1, 99999) };
      const seed = f.int('seed', 0, 0, 2 ** 32 - 1);
      const out = f.str('out');
      log(`generate: seed ${seed}, ${size}x${size}, ${counts.train}/${counts.val}/${counts.test} images -> ${out}`);
      generate({ out, seed, size, counts, log });
      break;
    }
    case 'prior': {
      const data = f.str('data');
      const split = f.str('split');
      const out = f.str('out');
      writeJson(out, computePrior(data, split, log));
      break;
    }
    case 'calibrate': {
      const logFile = f.optStr('log');
      calibrate({ config: f.str('config'), data: f.str('data'), split: f.str('split'), limit, out: f.str('out'), root, log });
      if (logFile !== undefined) writeFileAtomic(logFile, logged.join('\n') + '\n');
      break;
    }
    case 'evaluate': {
      const common = { config: f.str('config'), checkpoint: f.str('checkpoint'), data: f.str('data'), split: f.str('split'), limit, root, log };
      evaluate({ ...common, out: f.str('out'), predictions: f.optStr('predictions') });
      break;
    }
    case 'vr': {
      const common = { config: f.str('config'), checkpoint: f.str('checkpoint'), data: f.str('data'), split: f.str('split'), limit, root, log };
      vr({ ...common, out: f.str('out'), metrics: f.optStr('metrics') });
      break;
    }
    case 'saliency': {
      const common = { config: f.str('config'), checkpoint: f.str('checkpoint'), data: f.str('data'), split: f.str('split'), limit: undefined, root, log };
      saliency({ ...common, images: f.str('images'), out: f.str('out') });
      break;
    }
  }
  log(`${command}: done in ${((performance.now() - started) / 1000).toFixed(2)} s`);
}

try {
  run(process.argv.slice(2));
} catch (e) {
  const command = process.argv[2] ?? '';
  const prefix = `sardet${command in USAGE ? ` ${command}` : ''}: error: `;
  if (e instanceof ConfigError || e instanceof MmConfigError) {
    const at = e instanceof MmConfigError && e.location ? `${e.location}: ` : '';
    process.stderr.write(prefix + at + e.message + '\n');
    process.exitCode = 2;
  } else if (e instanceof UsageError) {
    const line = command in USAGE ? `usage: sardet ${command} ${USAGE[command]}` : usage();
    process.stderr.write(`${prefix}${e.message}\n${line}\n`);
    process.exitCode = 2;
  } else if (e instanceof ToolError) {
    process.stderr.write(prefix + e.message + '\n');
    process.exitCode = 1;
  } else {
    process.stderr.write(`${prefix}unexpected failure (a bug in the sardet tools):\n${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
