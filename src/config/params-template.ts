// `{params.KEY}` in a command target's `run`: the param's value put into the command, so the
// command receives what its fingerprint holds. KEY is a dotted path into `params` (an array
// element by its index). Strings go in as they are; other values as compact canonical JSON.
// In an argv array a value becomes (part of) one argument, unquoted: no shell reads it. In a
// shell string only values no shell reads anything into are put in (letters, digits and a few
// punctuation marks: numbers, names, paths); any other is refused, because quoting it right
// would depend on parsing the shell's quoting exactly as dash and bash do. Any other text,
// `${x}` included, is left as it is.
import type { Json, Target } from './types.js';
import { canonicalJson } from '../hashing/sha256.js';

/** `{params.a.b}`, not preceded by `$` (that is the shell's `${…}`). */
const PLACEHOLDER = /(?<!\$)\{params\.([^{}\s.]+(?:\.[^{}\s.]+)*)\}/y;
const PLACEHOLDERS = new RegExp(PLACEHOLDER.source, 'g');

export type Params = { [key: string]: Json };

export type Expansion =
  | { ok: true; command: string | string[] }
  /** `missing`: no such param; `shell`: a value a shell would read something into, in a shell string. */
  | { ok: false; placeholder: string; key: string; problem: 'missing' }
  | { ok: false; placeholder: string; key: string; problem: 'shell'; value: string };

/** Whether the command names a param at all (most do not: they are returned as they are). */
export function usesParams(run: string | readonly string[]): boolean {
  return typeof run === 'string' ? run.includes('{params.') : run.some((a) => a.includes('{params.'));
}

/** The command with every placeholder replaced, or the first one that cannot be. */
export function expandCommand(run: string | string[], params: Params = {}): Expansion {
  if (!usesParams(run)) return { ok: true, command: run };
  if (typeof run === 'string') return expandShell(run, params);
  const out: string[] = [];
  for (const arg of run) {
    let bad: Expansion | undefined;
    out.push(arg.replace(PLACEHOLDERS, (whole, key: string) => {
      const v = lookup(params, key);
      if (v === undefined) {
        bad ??= { ok: false, placeholder: whole, key, problem: 'missing' };
        return whole;
      }
      return render(v);
    }));
    if (bad) return bad;
  }
  return { ok: true, command: out };
}

/**
 * A target's command as it runs: `run` with its params substituted (undefined for groups and
 * in-process actions). A placeholder that cannot be substituted leaves the template (the
 * config's validation refuses it before anything runs).
 */
export function commandOf(t: Pick<Target, 'run' | 'params'>): string | string[] | undefined {
  const run = t.run;
  if (typeof run !== 'string' && !Array.isArray(run)) return undefined;
  const e = expandCommand(run, t.params);
  return e.ok ? e.command : run;
}

/** The value at a dotted path; undefined when there is none. */
export function lookup(params: Params, key: string): Json | undefined {
  let v: Json | undefined = params;
  for (const seg of key.split('.')) {
    if (Array.isArray(v)) v = /^(0|[1-9]\d*)$/.test(seg) ? v[Number(seg)] : undefined;
    else if (v !== null && typeof v === 'object') v = Object.hasOwn(v, seg) ? v[seg] : undefined;
    else v = undefined;
    if (v === undefined) return undefined;
  }
  return v;
}

/** Every dotted path a placeholder can name down to a value that is not an object with keys (for messages). */
export function paramPaths(params: Params | undefined): string[] {
  const out: string[] = [];
  const walk = (v: Json, at: string) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
      for (const [k, x] of Object.entries(v)) if (x !== undefined) walk(x, at ? `${at}.${k}` : k);
    } else out.push(at);
  };
  if (params) walk(params, '');
  return out.filter(Boolean);
}

/** A value as command text: a string as it is, anything else as compact canonical JSON. */
export function render(v: Json): string {
  return typeof v === 'string' ? v : canonicalJson(v);
}

/**
 * A value that no shell reads anything into, wherever it lands in a shell string (a word,
 * '…', "…", $(…), backticks, a here-document): letters, digits and `. _ - / : @ % +`, not
 * empty. Such a value is put in as it is, so what the job gets does not depend on sbuild
 * reading the shell's quoting right; any other value in a shell string is refused (an argv
 * array passes every value unchanged).
 */
const INERT = /^[A-Za-z0-9._\/:@%+-]+$/;

/** Every `{params.KEY}` of a shell string replaced by its value, when every value is inert. */
function expandShell(s: string, params: Params): Expansion {
  let bad: Expansion | undefined;
  const command = s.replace(PLACEHOLDERS, (whole, key: string) => {
    const v = lookup(params, key);
    if (v === undefined) {
      bad ??= { ok: false, placeholder: whole, key, problem: 'missing' };
      return whole;
    }
    const text = render(v);
    if (!INERT.test(text)) bad ??= { ok: false, placeholder: whole, key, problem: 'shell', value: text };
    return text;
  });
  return bad ?? { ok: true, command };
}

/** Why a placeholder cannot be substituted, and the fix (the caller names the target). */
export function expansionProblem(e: Extract<Expansion, { ok: false }>, params: Params | undefined): string {
  if (e.problem === 'shell') {
    const shown = e.value.length > 60 ? `${e.value.slice(0, 60)}…` : e.value;
    return `\`run\` is a shell string and uses ${e.placeholder}, whose value ${JSON.stringify(shown)} ${e.value === '' ? 'is empty' : 'holds characters a shell reads'}; sbuild puts only values of letters, digits and . _ - / : @ % + into shell strings, so that no value can change the command. Give \`run\` as an argv array (each value then passes unchanged, as one argument), or change the value.`;
  }
  const have = paramPaths(params);
  if (have.length === 0) return `\`run\` uses ${e.placeholder}, but the target has no params. Give it \`params\` holding ${e.key}, or remove the placeholder.`;
  const shown = have.length > 12 ? `${have.slice(0, 12).join(', ')}, +${have.length - 12} more` : have.join(', ');
  return `\`run\` uses ${e.placeholder}, but the target has no param ${e.key} (its params: ${shown}). Add ${e.key} to its \`params\`, or correct the placeholder.`;
}
