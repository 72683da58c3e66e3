// The public API: what tasks.config.ts and rules/ import.
export { defineConfig } from './config/types.js';
export type { Config, Target, Action, ActionContext, Resources, Json } from './config/types.js';
