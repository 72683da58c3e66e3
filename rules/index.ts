// The SARDet rule library: functions that return plain sbuild targets. Imports only sbuild's public API.
export { zipFiles, metricsZip, writeZip, inspectZip, ZipFormatError, ZIP_ENTRY_MODE, METRICS_JSON_GLOB } from './zip.js';
export type { ZipFilesOptions, MetricsZipOptions, ZipSource, ZipInfo } from './zip.js';
export { releaseCheck, releaseBundle, sha256File, DEFAULT_CHECK_OUTPUT } from './release.js';
export type { ReleaseCheckOptions, ReleaseCheckRecord, CheckedAsset, ReleaseBundleOptions, ReleaseManifest, ManifestFile } from './release.js';
export { gitCommit, findGitDir } from './git.js';
export { dataset } from './dataset.js';
export type { Dataset, DatasetOptions } from './dataset.js';
export { experiment, demoRunner, mmdetRunner, DEFAULT_VARIANTS } from './experiment.js';
export type { Experiment, ExperimentOptions, ExperimentVariant, Runner, TrainJob, TestJob, EvalSpec, VariantSpec, MmdetOptions } from './experiment.js';
export { resultsTable, ledger, metricsFromTable, formatMetrics, tableColumns, SARDET_CLASSES } from './results.js';
export type { Metrics, ResultsTableOptions, LedgerOptions } from './results.js';
export { vrExport, subset, sample500, gradcam, demoVisCommands } from './visualize.js';
export type { VisJob, VisCommand, VrExport } from './visualize.js';
export { readMmConfig, MmConfigError } from './mmconfig.js';
export type { MmConfig, PyValue } from './mmconfig.js';
export { sardetPolicy } from './policy.js';
export { htmlReport, RESULTS_TABLE } from './report.js';
export type { HtmlReportOptions } from './report.js';
