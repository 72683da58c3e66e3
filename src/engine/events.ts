// What the engine tells the outside world. Renderers (src/ui/) only listen to these.
import type { Reason } from './reasons.js';
import type { Failure, FailureLog } from './failure.js';

export type BuildEvent =
  | { type: 'plan'; selected: number; toRun: number }
  | { type: 'fresh'; name: string }
  | { type: 'would-run'; name: string; reasons: Reason[]; restore: boolean }
  | { type: 'start'; name: string; reasons: Reason[]; gpus: string[]; executor?: 'slurm' }
  | { type: 'done'; name: string; ms: number }
  | { type: 'restored'; name: string; fingerprint: string; reasons: Reason[] }
  | { type: 'failed'; name: string; ms: number; failure: Failure; log?: FailureLog }
  | { type: 'blocked'; name: string; dep: string; submitted?: boolean }
  /** `--detach`: submitted to Slurm (or found pending or running there); a later build records it. */
  | { type: 'detached'; name: string; jobId: string; state: string }
  | { type: 'warning'; message: string }
  /** An in-process action's word on how it is getting on; `line`: a milestone worth a line of its own. */
  | { type: 'progress'; name: string; text: string; line: boolean }
  | { type: 'summary'; ran: number; restored: number; fresh: number; failed: number; blocked: number; detached?: number; ms: number; interrupted: boolean; dryRun: boolean };

export type Listener = (e: BuildEvent) => void;
