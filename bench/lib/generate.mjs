// Generates one benchmark workspace: the same build graph for sbuild, GNU Make, Ninja and
// Snakemake. Per experiment K (name expKKKK): train, eval-val, eval-test, smoke, vr, gradcam
// (6 actions) plus a phony group `expKKKK`; shared: dataset, results table, metrics bundle,
// and the phony `release`. That is 7N+4 targets and 6N+3 actions.
//
// Every action is a tiny real shell command that first appends its name to actions.log (so
// the runner counts exactly which actions ran) and then writes its declared output. The
// command text is identical for every tool, so outputs must agree byte for byte.
import fs from 'node:fs';
import path from 'node:path';

export const TOOLS = ['sbuild', 'make', 'ninja', 'snakemake'];

export const expName = (k) => `exp${String(k).padStart(4, '0')}`;

/** Output folders created up front (Make and Ninja do not create parents; sbuild and Snakemake would). */
export function skeletonDirs(n) {
  const dirs = ['data', 'results', 'release'];
  for (let k = 0; k < n; k++) dirs.push(`work_dirs/${expName(k)}`, `vis/${expName(k)}`);
  return dirs;
}

/** Content of configs/expK.py; `rev` changes the content (the one-config-edit case). */
export function configText(k, rev = 0) {
  const lr = (0.01 * (1 + (k % 7))).toFixed(3);
  return [
    `_base_ = ['../base/cfar.py']`,
    `model = dict(type='CFAR', guard=${1 + (k % 3)}, train=${8 + (k % 5)}, pfa=1e-${3 + (k % 4)})`,
    `optim = dict(lr=${lr}, epochs=${12 + (k % 3)})`,
    `seed = ${k}`,
    ...(rev ? [`# revision ${rev}`] : []),
    '',
  ].join('\n');
}

/**
 * The graph as data: every action with its name, inputs, outputs and shell command.
 * `inputs` here are the literal files; the table and bundle additionally take a glob in
 * sbuild (work_dirs/**\/*_metrics.json), which matches the same declared outputs.
 */
export function actions(n) {
  const log = (name) => `echo ${name} >> actions.log`;
  const list = [];
  list.push({ name: 'dataset', inputs: ['raw/data.txt'], outputs: ['data/dataset.txt'], cmd: `${log('dataset')} && cp raw/data.txt data/dataset.txt` });
  for (let k = 0; k < n; k++) {
    const e = expName(k);
    const cfg = `configs/${e}.py`;
    const ckpt = `work_dirs/${e}/model.ckpt`;
    const ds = 'data/dataset.txt';
    list.push(
      { name: `${e}/train`, exp: e, inputs: [cfg, ds], outputs: [ckpt], cmd: `${log(`${e}/train`)} && cat ${cfg} ${ds} | sha256sum > ${ckpt}` },
      ...['val', 'test'].map((split) => {
        const out = `work_dirs/${e}/${split}_metrics.json`;
        return { name: `${e}/eval-${split}`, exp: e, inputs: [ckpt, ds], outputs: [out], cmd: `${log(`${e}/eval-${split}`)} && echo ${split} > ${out} && sha256sum ${ckpt} ${ds} >> ${out}` };
      }),
      { name: `${e}/smoke`, exp: e, inputs: [cfg, ds], outputs: [`work_dirs/${e}/smoke.txt`], cmd: `${log(`${e}/smoke`)} && sha256sum ${cfg} ${ds} > work_dirs/${e}/smoke.txt` },
      { name: `${e}/vr`, exp: e, inputs: [ckpt], outputs: [`vis/${e}/vr.txt`], cmd: `${log(`${e}/vr`)} && sha256sum ${ckpt} | cut -c1-16 > vis/${e}/vr.txt` },
      { name: `${e}/gradcam`, exp: e, inputs: [ckpt, ds], outputs: [`vis/${e}/gradcam.txt`], cmd: `${log(`${e}/gradcam`)} && sha256sum ${ds} ${ckpt} > vis/${e}/gradcam.txt` },
    );
  }
  const metrics = [];
  for (let k = 0; k < n; k++) metrics.push(`work_dirs/${expName(k)}/val_metrics.json`, `work_dirs/${expName(k)}/test_metrics.json`);
  list.push({
    name: 'table', inputs: metrics, glob: 'work_dirs/**/*_metrics.json', outputs: ['results/table.tsv'],
    cmd: `${log('table')} && grep -H '' work_dirs/*/*_metrics.json > results/table.tsv`,
  });
  list.push({
    name: 'bundle', inputs: ['results/table.tsv', ...metrics], glob: 'work_dirs/**/*_metrics.json', outputs: ['release/metrics.tar'],
    cmd: `${log('bundle')} && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf release/metrics.tar results/table.tsv work_dirs/*/*_metrics.json`,
  });
  return list;
}

/** Phony groups: one per experiment, and `release` over everything. */
export function groups(n) {
  const g = [];
  const exps = [];
  for (let k = 0; k < n; k++) {
    const e = expName(k);
    exps.push(e);
    g.push({ name: e, deps: ['train', 'eval-val', 'eval-test', 'smoke', 'vr', 'gradcam'].map((s) => `${e}/${s}`) });
  }
  g.push({ name: 'release', deps: ['table', 'bundle', ...exps] });
  return g;
}

/** Writes the sources every tool shares (raw data, configs, output folders). */
export function writeSources(dir, n) {
  fs.mkdirSync(dir, { recursive: true });
  write(dir, 'raw/data.txt', Array.from({ length: 64 }, (_, i) => `img_${String(i).padStart(5, '0')} ${(i * 2654435761) % 997} ship`).join('\n') + '\n');
  write(dir, 'configs/base/cfar.py', `detector = 'CFAR'\n`);
  for (let k = 0; k < n; k++) write(dir, `configs/${expName(k)}.py`, configText(k));
  for (const d of skeletonDirs(n)) fs.mkdirSync(path.join(dir, d), { recursive: true });
}

export function write(dir, rel, text) {
  const f = path.join(dir, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
}

/** Writes the tool's build file (and for sbuild the node_modules/sbuild link). */
export function writeBuildFile(dir, n, tool, sbuildRepo) {
  if (tool === 'sbuild') return writeSbuild(dir, n, sbuildRepo);
  if (tool === 'make') return write(dir, 'Makefile', makefile(n));
  if (tool === 'ninja') return write(dir, 'build.ninja', ninjaFile(n));
  if (tool === 'snakemake') return write(dir, 'Snakefile', snakefile(n));
  throw new Error(`unknown tool ${tool}`);
}

// sbuild: the config a user would write, a loop over experiments (not 7N literal targets).
function writeSbuild(dir, n, repo) {
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  const link = path.join(dir, 'node_modules', 'sbuild');
  fs.rmSync(link, { force: true, recursive: true });
  fs.symlinkSync(repo, link, 'dir');
  const all = actions(n);
  const cmdOf = (name) => all.find((a) => a.name === name).cmd;
  // Per-experiment commands as a template function, checked against actions() below.
  const src = `// Generated by bench/lib/generate.mjs: ${n} experiments, ${7 * n + 4} targets.
import { defineConfig, type Target } from 'sbuild';

const N = ${n};
const ds = 'data/dataset.txt';
const log = (name: string) => \`echo \${name} >> actions.log\`;
const targets: Target[] = [
  { name: 'dataset', inputs: ['raw/data.txt'], outputs: [ds], run: ${JSON.stringify(cmdOf('dataset'))} },
];
const exps: string[] = [];
for (let k = 0; k < N; k++) {
  const e = 'exp' + String(k).padStart(4, '0');
  const cfg = \`configs/\${e}.py\`;
  const ckpt = \`work_dirs/\${e}/model.ckpt\`;
  exps.push(e);
  targets.push(
    { name: \`\${e}/train\`, inputs: [cfg, ds], outputs: [ckpt], tags: ['train'],
      run: \`\${log(\`\${e}/train\`)} && cat \${cfg} \${ds} | sha256sum > \${ckpt}\` },
    ...['val', 'test'].map((split): Target => {
      const out = \`work_dirs/\${e}/\${split}_metrics.json\`;
      return { name: \`\${e}/eval-\${split}\`, inputs: [ckpt, ds], outputs: [out], tags: ['eval'],
        run: \`\${log(\`\${e}/eval-\${split}\`)} && echo \${split} > \${out} && sha256sum \${ckpt} \${ds} >> \${out}\` };
    }),
    { name: \`\${e}/smoke\`, inputs: [cfg, ds], outputs: [\`work_dirs/\${e}/smoke.txt\`], tags: ['smoke'],
      run: \`\${log(\`\${e}/smoke\`)} && sha256sum \${cfg} \${ds} > work_dirs/\${e}/smoke.txt\` },
    { name: \`\${e}/vr\`, inputs: [ckpt], outputs: [\`vis/\${e}/vr.txt\`],
      run: \`\${log(\`\${e}/vr\`)} && sha256sum \${ckpt} | cut -c1-16 > vis/\${e}/vr.txt\` },
    { name: \`\${e}/gradcam\`, inputs: [ckpt, ds], outputs: [\`vis/\${e}/gradcam.txt\`],
      run: \`\${log(\`\${e}/gradcam\`)} && sha256sum \${ds} \${ckpt} > vis/\${e}/gradcam.txt\` },
    { name: e, deps: ['train', 'eval-val', 'eval-test', 'smoke', 'vr', 'gradcam'].map((s) => \`\${e}/\${s}\`) },
  );
}
targets.push(
  { name: 'table', inputs: ['work_dirs/**/*_metrics.json'], outputs: ['results/table.tsv'], run: ${JSON.stringify(cmdOf('table'))} },
  { name: 'bundle', inputs: ['results/table.tsv', 'work_dirs/**/*_metrics.json'], outputs: ['release/metrics.tar'], run: ${JSON.stringify(cmdOf('bundle'))} },
  { name: 'release', deps: ['table', 'bundle', ...exps] },
);

export default defineConfig({ default: 'release', targets });
`;
  write(dir, 'tasks.config.ts', src);
}

// GNU Make: explicit rules (as a generator such as CMake would emit), phony groups.
function makefile(n) {
  const lines = [`# Generated by bench/lib/generate.mjs: ${n} experiments.`, '.DEFAULT_GOAL := release', ''];
  for (const a of actions(n)) {
    lines.push(`${a.outputs.join(' ')}: ${a.inputs.join(' ')}`, `\t${a.cmd}`, '');
  }
  const gs = groups(n);
  lines.push(`.PHONY: ${gs.map((g) => g.name).join(' ')}`);
  const outOf = new Map(actions(n).map((a) => [a.name, a.outputs[0]]));
  for (const g of gs) lines.push(`${g.name}: ${g.deps.map((d) => outOf.get(d) ?? d).join(' ')}`);
  return lines.join('\n') + '\n';
}

// Ninja: one generic rule, one build statement per action, phony groups.
function ninjaFile(n) {
  const lines = [`# Generated by bench/lib/generate.mjs: ${n} experiments.`, 'rule sh', '  command = $cmd', '  description = $name', ''];
  for (const a of actions(n)) {
    lines.push(`build ${a.outputs.join(' ')}: sh ${a.inputs.join(' ')}`, `  cmd = ${a.cmd}`, `  name = ${a.name}`);
  }
  const outOf = new Map(actions(n).map((a) => [a.name, a.outputs[0]]));
  for (const g of groups(n)) lines.push(`build ${g.name}: phony ${g.deps.map((d) => outOf.get(d) ?? d).join(' ')}`);
  lines.push('default release', '');
  return lines.join('\n');
}

// Snakemake: wildcard rules (the idiomatic form); the expanded shell text equals the others.
function snakefile(n) {
  const q = (s) => JSON.stringify(s);
  return `# Generated by bench/lib/generate.mjs: ${n} experiments.
N = ${n}
EXPS = ["exp%04d" % k for k in range(N)]
METRICS = expand("work_dirs/{e}/{s}_metrics.json", e=EXPS, s=["val", "test"])
wildcard_constraints:
    e="exp[0-9]+"

rule release:
    input:
        "results/table.tsv", "release/metrics.tar",
        expand("work_dirs/{e}/{f}", e=EXPS, f=["model.ckpt", "val_metrics.json", "test_metrics.json", "smoke.txt"]),
        expand("vis/{e}/{f}", e=EXPS, f=["vr.txt", "gradcam.txt"])

rule dataset:
    input: "raw/data.txt"
    output: "data/dataset.txt"
    shell: ${q('echo dataset >> actions.log && cp {input} {output}')}

rule train:
    input: "configs/{e}.py", "data/dataset.txt"
    output: "work_dirs/{e}/model.ckpt"
    shell: ${q('echo {wildcards.e}/train >> actions.log && cat {input} | sha256sum > {output}')}

rule eval:
    input: "work_dirs/{e}/model.ckpt", "data/dataset.txt"
    output: "work_dirs/{e}/{split}_metrics.json"
    wildcard_constraints:
        split="val|test"
    shell: ${q('echo {wildcards.e}/eval-{wildcards.split} >> actions.log && echo {wildcards.split} > {output} && sha256sum {input} >> {output}')}

rule smoke:
    input: "configs/{e}.py", "data/dataset.txt"
    output: "work_dirs/{e}/smoke.txt"
    shell: ${q('echo {wildcards.e}/smoke >> actions.log && sha256sum {input} > {output}')}

rule vr:
    input: "work_dirs/{e}/model.ckpt"
    output: "vis/{e}/vr.txt"
    shell: ${q('echo {wildcards.e}/vr >> actions.log && sha256sum {input} | cut -c1-16 > {output}')}

rule gradcam:
    input: "data/dataset.txt", "work_dirs/{e}/model.ckpt"
    output: "vis/{e}/gradcam.txt"
    shell: ${q('echo {wildcards.e}/gradcam >> actions.log && sha256sum {input} > {output}')}

rule table:
    input: METRICS
    output: "results/table.tsv"
    shell: ${q(actions(0).find((a) => a.name === 'table').cmd)}

rule bundle:
    input: "results/table.tsv", METRICS
    output: "release/metrics.tar"
    shell: ${q(actions(0).find((a) => a.name === 'bundle').cmd)}
`;
}

/** Every declared output, workspace-relative, sorted. */
export function allOutputs(n) {
  return actions(n).flatMap((a) => a.outputs).sort();
}
