// The one place a Failure (src/engine/failure.ts) becomes a sentence. Exhaustive: a new kind
// of failure does not compile until it is worded here.
import type { Failure } from '../engine/failure.js';

export function failureMessage(f: Failure, target: string): string {
  const text = ((): string => {
    switch (f.kind) {
      case 'exit': return `command failed with exit code ${f.exitCode}`;
      case 'signal': return `command was killed by ${f.signal}`;
      case 'spawn': return `command could not start: ${f.message}`;
      case 'threw': return `action threw: ${f.message}`;
      case 'bad-input': return f.message;
      case 'not-produced':
        return `the command succeeded but did not produce the declared output(s) ${f.paths.map((p) => `'${p}'`).join(', ')}. Make it write them, or fix \`outputs\`.`;
      case 'missing-input':
        return `blocked: missing input ${f.paths.map((m) => `'${m}'`).join(', ')} of target '${target}' (no target produces it, or an upstream target did not). Put the file back, or fix the input list.`;
      case 'impossible': {
        const hint = f.hint === 'no-gpu'
          ? " Run on a machine with a GPU, pass --gpus IDS, or set `cpuFallback: true` on the target to run it on the CPU."
          : f.hint === 'too-few-gpus' ? ' Lower its `resources.gpu`, or pass more ids with --gpus.' : '';
        return `target '${target}' ${f.why}.${hint}`;
      }
      default: {
        const never: never = f;
        return never;
      }
    }
  })();
  const movedTo = 'movedTo' in f ? f.movedTo : undefined;
  if (!movedTo) return text;
  return /[.!?]$/.test(text) ? `${text} Partial outputs moved to ${movedTo}.` : `${text}; partial outputs moved to ${movedTo}`;
}
