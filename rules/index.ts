// The SARDet rule library: functions that return plain sbuild targets. Imports only sbuild's public API.
export { zipFiles, metricsZip, writeZip, inspectZip, ZipFormatError, ZIP_ENTRY_MODE, METRICS_JSON_GLOB } from './zip.js';
export type { ZipFilesOptions, MetricsZipOptions, ZipSource, ZipInfo } from './zip.js';
export { releaseCheck, releaseBundle, sha256File, DEFAULT_CHECK_OUTPUT } from './release.js';
export type { ReleaseCheckOptions, ReleaseCheckRecord, CheckedAsset, ReleaseBundleOptions, ReleaseManifest, ManifestFile } from './release.js';
export { gitCommit, findGitDir } from './git.js';
