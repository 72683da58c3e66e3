// `sbuild variants [--json]` lists the experiment variants recorded in sbuild.variants.json;
// `sbuild variants drop NAME…` removes them from it (their outputs and cache entries stay:
// asking for the same settings again restores them without running anything).
import { SbuildError } from '../../errors.js';
import { readVariants, writeVariants, VARIANTS_FILE, type VariantDecl } from '../../config/variants.js';
import type { Options } from '../args.js';

export function variants(root: string, opts: Options, out: (s: string) => void): number {
  const [sub, ...names] = opts.targets;
  const decls = readVariants(root);
  if (sub === undefined) {
    if (opts.json) for (const d of decls) out(JSON.stringify(d));
    else if (!decls.length) out(`sbuild: no variants recorded in ${VARIANTS_FILE}; make one with sbuild 'exp/NAME/**' -S key=value.`);
    else {
      const width = Math.max(...decls.map((d) => d.name.length));
      for (const d of decls) out(`${d.name.padEnd(width)}  ${describe(d)}`);
    }
    return 0;
  }
  if (sub !== 'drop') throw new SbuildError('usage', `\`sbuild variants\` has no subcommand '${sub}'. \`sbuild variants\` lists the variants recorded in ${VARIANTS_FILE}; \`sbuild variants drop NAME…\` removes them.`);
  if (!names.length) throw new SbuildError('usage', `\`sbuild variants drop\` needs the names of the variants to remove (\`sbuild variants\` lists them).`);
  const unknown = names.filter((n) => !decls.some((d) => d.name === n));
  if (unknown.length) {
    throw new SbuildError('usage', `${VARIANTS_FILE} has no variant ${unknown.map((n) => `'${n}'`).join(', ')}${decls.length ? ` (it has ${decls.map((d) => `'${d.name}'`).join(', ')})` : ' (it records none)'}. Name recorded variants; \`sbuild variants\` lists them.`);
  }
  writeVariants(root, decls.filter((d) => !names.includes(d.name)));
  for (const n of names) out(`sbuild: dropped ${n} from ${VARIANTS_FILE}; its targets leave the graph and its rows the results table (its outputs and cache entries stay)`);
  return 0;
}

function describe(d: VariantDecl): string {
  const set = Object.keys(d.set).sort().map((k) => `${d.add?.includes(k) ? '+' : ''}${k}=${JSON.stringify(d.set[k])}`).join(' ');
  return `${d.experiment} with ${set}${d.only ? ` (runs: ${d.only.join(', ')})` : ''}`;
}
