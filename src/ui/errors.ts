// The one place where errors become text.
import { SbuildError } from '../errors.js';

export function renderError(err: unknown): { text: string; exitCode: number } {
  if (err instanceof SbuildError) {
    const head = err.location ? `${err.location}: error: ${err.message}` : `error: ${err.message}`;
    return { text: err.detail ? `${head}\n${err.detail}` : head, exitCode: err.exitCode };
  }
  const e = err as Error;
  return {
    text: `internal error (this is a bug in sbuild; please report it with the command you ran):\n${e?.stack ?? String(err)}`,
    exitCode: 70,
  };
}
