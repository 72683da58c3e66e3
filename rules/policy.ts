// The SARDet paper repository's git policy (docs: artifacts-and-releases): code, the ledger,
// the results tables and the small metrics JSONs are tracked; checkpoints, logs, image dumps,
// release assets, datasets and sbuild's own state are not. Use it as `policy: sardetPolicy`,
// or spread it to extend: `policy: { ...sardetPolicy, maxFileMB: 50 }`.
import type { Policy } from '../src/index.js';
import { STATE_DIR } from '../src/engine/state-paths.js';

export const sardetPolicy: Policy = {
  tracked: [
    // experiment ledger: commands and expected outputs
    'artifacts/experiments/experiment.md',
    // the paper table, copy-friendly and Markdown
    'artifacts/experiments/experiment_results.{tsv,md}',
    // small metrics JSONs, so readers can diff and parse results without re-running
    'artifacts/work_dirs/**/{smoke,val,test}_metrics.json',
    // metrics saved alongside the VR exports (the images stay out of git)
    'artifacts/visualizations/VR/*/*/metrics.json',
    // the record of what the committed results were built from
    'sbuild.lock',
    // the experiment variants made with -S (their rows are in the table)
    'sbuild.variants.json',
  ],
  ignored: [
    // training / eval outputs: checkpoints (*.pth), logs, … (the metrics JSONs above stay tracked)
    'artifacts/work_dirs/**',
    // VR, sample500 and Grad-CAM exports (the VR metrics.json files above stay tracked)
    'artifacts/visualizations/**',
    // pretrained weights and checkpoints
    'artifacts/weights/**',
    // release bundles and their assets (GitHub Releases, not git)
    'artifacts/release/**',
    'artifacts/release_assets/**',
    'artifacts/report/**',
    // the linked dataset
    'data/**',
    // sbuild's cache, logs and stat cache
    `${STATE_DIR}/**`,
  ],
  // GitHub rejects files over 100 MB
  maxFileMB: 100,
};
