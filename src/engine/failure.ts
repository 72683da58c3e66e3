// Why a target failed, as data. The engine never words a failure: it hands one of these to
// the listeners, and src/ui/failure.ts turns each kind into its sentence.

export type Failure =
  /** The command ran and exited non-zero. */
  | { kind: 'exit'; exitCode: number; movedTo?: string }
  /** The command was killed by a signal (Ctrl-C, the OOM killer, a time limit). */
  | { kind: 'signal'; signal: string; movedTo?: string }
  /** The command could not be started (no such program, no permission). */
  | { kind: 'spawn'; message: string; movedTo?: string }
  /** An in-process action threw. */
  | { kind: 'threw'; message: string; movedTo?: string }
  /** The config asks for something that cannot be done (an output outside the workspace): said in full. */
  | { kind: 'bad-input'; message: string; movedTo?: string }
  /** It succeeded without writing every declared output. */
  | { kind: 'not-produced'; paths: string[]; movedTo?: string }
  /** An input is missing and nothing produced it. */
  | { kind: 'missing-input'; paths: string[] }
  /** Its resources can never be granted here. */
  | { kind: 'impossible'; why: string; hint: 'no-gpu' | 'too-few-gpus' | 'none' };

/** What a failed command leaves for the reader: the command, its log, the log's last lines. */
export interface FailureLog {
  command: string;
  logFile: string;
  logTail?: string;
}

/** The same failure with where its partial outputs were moved (`.sbuild/failed/<name>/`). */
export function withMoved(f: Failure, dir: string | undefined): Failure {
  if (!dir || f.kind === 'missing-input' || f.kind === 'impossible') return f;
  return { ...f, movedTo: dir };
}
