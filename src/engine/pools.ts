// Resource pools: GPUs are handed out by device id (a running job owns its ids until it
// ends, so no two running jobs ever share a device); other pools are counters.
import { execFileSync } from 'node:child_process';

export class Pools {
  private readonly freeGpus: string[];
  private readonly free = new Map<string, number>();

  constructor(readonly gpus: string[], readonly capacities: Record<string, number>) {
    this.freeGpus = [...gpus];
    for (const [k, v] of Object.entries(capacities)) this.free.set(k, v);
  }

  /** Why a job can never run with these pools, or undefined when it can. */
  impossible(resources: Record<string, number | undefined> | undefined): string | undefined {
    for (const [k, v] of Object.entries(resources ?? {})) {
      if (!v) continue;
      if (k === 'gpu') {
        if (v > this.gpus.length) return `needs ${v} GPU(s) but the pool has ${this.gpus.length} (${this.gpus.length ? this.gpus.join(',') : 'none detected'})`;
      } else {
        const cap = this.capacities[k];
        if (cap === undefined) return `needs the resource '${k}', which no pool defines (add \`pools: { ${k}: N }\` to the config)`;
        if (v > cap) return `needs ${v} of '${k}' but the pool holds ${cap}`;
      }
    }
    return undefined;
  }

  /** Takes the resources if all are free now; returns the GPU ids granted, or undefined. */
  tryAcquire(resources: Record<string, number | undefined> | undefined): string[] | undefined {
    const r = resources ?? {};
    const gpuNeed = r.gpu ?? 0;
    if (gpuNeed > this.freeGpus.length) return undefined;
    for (const [k, v] of Object.entries(r)) {
      if (k !== 'gpu' && v && (this.free.get(k) ?? 0) < v) return undefined;
    }
    for (const [k, v] of Object.entries(r)) if (k !== 'gpu' && v) this.free.set(k, this.free.get(k)! - v);
    return this.freeGpus.splice(0, gpuNeed);
  }

  release(resources: Record<string, number | undefined> | undefined, gpuIds: string[]): void {
    for (const [k, v] of Object.entries(resources ?? {})) if (k !== 'gpu' && v) this.free.set(k, this.free.get(k)! + v);
    this.freeGpus.push(...gpuIds);
    this.freeGpus.sort((a, b) => this.gpus.indexOf(a) - this.gpus.indexOf(b));
  }
}

/**
 * GPU ids, in order of precedence: `--gpus`, the config's `gpus`, the `CUDA_VISIBLE_DEVICES`
 * sbuild was started with, then `nvidia-smi -L` (none when it is absent).
 */
export function detectGpus(flag: string | undefined, configGpus: string[] | undefined, env: NodeJS.ProcessEnv): string[] {
  const split = (s: string) => s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (flag !== undefined) return flag === 'none' ? [] : split(flag);
  if (configGpus) return configGpus;
  if (env.CUDA_VISIBLE_DEVICES !== undefined) return split(env.CUDA_VISIBLE_DEVICES).filter((x) => x !== '-1');
  try {
    const out = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    return out.split('\n').filter((l) => /^GPU \d+/.test(l)).map((l) => /^GPU (\d+)/.exec(l)![1]!);
  } catch {
    return [];
  }
}
