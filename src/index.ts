// The public API: what tasks.config.ts and rules/ import.
export { defineConfig, BadInputError } from './config/types.js';
export { workspaceRoot } from './config/root.js';
export { valuesParam } from './engine/values.js';
export { canonicalJson } from './hashing/sha256.js';
/** A target's command as it runs: `run` with its `{params.KEY}` placeholders substituted. */
export { commandOf } from './config/params-template.js';
export { noteConfigReads } from './config/reads.js';
export { declareExperiment, variantsOf, VARIANT_NAME, VARIANTS_FILE } from './config/variants.js';
export { cfgValueText } from './config/settings.js';
export type { Config, Target, Action, ActionContext, MaterializeContext, Resources, SlurmOptions, SlurmConfig, Json } from './config/types.js';
/** The git policy checked by `sbuild check` (the config's `policy`). */
export type Policy = NonNullable<import('./config/types.js').Config['policy']>;
