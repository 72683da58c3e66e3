// `{params.KEY}` in a command target's `run`: the param's value put into the command, so the
// command receives what its fingerprint holds. KEY is a dotted path into `params` (an array
// element by its index). Strings go in as they are; other values as compact canonical JSON.
// In an argv array a value becomes (part of) one argument, unquoted: no shell reads it. In a
// shell string it is quoted for the spot it lands in (a word, '…' or "…"), so a value can never
// add shell syntax; spots where that cannot be done safely (backticks, ${…}, $'…', a
// here-document) are refused. Any other text, `${x}` included, is left as it is.
import type { Json, Target } from './types.js';
import { canonicalJson } from '../hashing/sha256.js';

/** `{params.a.b}`, not preceded by `$` (that is the shell's `${…}`). */
const PLACEHOLDER = /(?<!\$)\{params\.([^{}\s.]+(?:\.[^{}\s.]+)*)\}/y;
const PLACEHOLDERS = new RegExp(PLACEHOLDER.source, 'g');

export type Params = { [key: string]: Json };

export type Expansion =
  | { ok: true; command: string | string[] }
  /** `missing`: no such param; otherwise the shell context it sits in, where it cannot be quoted. */
  | { ok: false; placeholder: string; key: string; problem: 'missing' | Unsafe };

type Unsafe = 'backticks' | 'parameter expansion' | 'ansi-c quotes' | 'here-document';

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

/** Single-quoted for a shell unless every character is inert there (`=` is not: `a=b cmd`). */
export function shellQuote(s: string): string {
  return /^[\w@%+:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

type Kind = 'plain' | 'cmd' | 'paren' | 'sq' | 'dq' | 'bt' | 'brace' | 'ansi';
interface Frame {
  kind: Kind;
  /** `case … esac` open in this frame: a `)` there ends a pattern, not the frame. */
  cases: number;
}

const UNQUOTED = new Set<Kind>(['plain', 'cmd', 'paren']);
const UNSAFE: Partial<Record<Kind, Unsafe>> = { bt: 'backticks', brace: 'parameter expansion', ansi: 'ansi-c quotes' };
const WORD_END = /[\s;&|()<>]/;

/**
 * Walks the shell string keeping track of the quoting around each character (a small model of
 * POSIX sh: quotes, backslashes, comments, $(…), (…), `…`, ${…}, $'…', here-documents), and
 * quotes each value for where it lands: as a word, `'v'`; inside '…', `'` + `'v'` + `'`;
 * inside "…", `"` + `'v'` + `"`. Placeholders in comments are left alone.
 */
function expandShell(s: string, params: Params): Expansion {
  const stack: Frame[] = [{ kind: 'plain', cases: 0 }];
  let out = '';
  let heredoc = false;
  let i = 0;
  const top = () => stack[stack.length - 1]!;
  while (i < s.length) {
    const f = top();
    PLACEHOLDER.lastIndex = i;
    const m = PLACEHOLDER.exec(s);
    if (m) {
      const key = m[1]!;
      const v = lookup(params, key);
      if (v === undefined) return { ok: false, placeholder: m[0], key, problem: 'missing' };
      const unsafe = heredoc ? 'here-document' : stack.map((x) => UNSAFE[x.kind]).find((x) => x !== undefined);
      if (unsafe) return { ok: false, placeholder: m[0], key, problem: unsafe };
      const q = shellQuote(render(v));
      out += f.kind === 'sq' ? `'${q}'` : f.kind === 'dq' ? `"${q}"` : q;
      i += m[0].length;
      continue;
    }
    const c = s[i]!;
    const two = s.slice(i, i + 2);
    const unquoted = UNQUOTED.has(f.kind);
    const wordStart = i === 0 || WORD_END.test(s[i - 1]!);
    let step = 1;
    if (f.kind === 'sq') {
      if (c === "'") stack.pop();
    } else if (f.kind === 'ansi') {
      if (c === '\\') step = 2;
      else if (c === "'") stack.pop();
    } else if (f.kind === 'bt') {
      if (c === '\\') step = 2;
      else if (c === '`') stack.pop();
    } else if (c === '\\') {
      step = 2;
    } else if (f.kind === 'dq' && c === '"') {
      stack.pop();
    } else if (two === '$(' || two === '${' || (unquoted && two === "$'")) {
      stack.push({ kind: two === '$(' ? 'cmd' : two === '${' ? 'brace' : 'ansi', cases: 0 });
      step = 2;
    } else if (c === '`') {
      stack.push({ kind: 'bt', cases: 0 });
    } else if (f.kind === 'brace' && c === '}') {
      stack.pop();
    } else if (f.kind !== 'dq' && (c === "'" || c === '"')) {
      stack.push({ kind: c === "'" ? 'sq' : 'dq', cases: 0 });
    } else if (unquoted) {
      if (c === '#' && wordStart) {
        // A comment runs to the end of the line; nothing in it is substituted.
        const end = s.indexOf('\n', i);
        step = (end < 0 ? s.length : end) - i;
      } else if (two === '<<') {
        heredoc = true;
        step = 2;
      } else if (c === '(') {
        stack.push({ kind: 'paren', cases: 0 });
      } else if (c === ')') {
        if (f.cases > 0) { /* the end of a case pattern */ } else if (f.kind !== 'plain') stack.pop();
      } else if (wordStart && /^case(?=[\s;&|()<>]|$)/.test(s.slice(i, i + 5))) {
        f.cases++;
      } else if (wordStart && f.cases > 0 && /^esac(?=[\s;&|()<>]|$)/.test(s.slice(i, i + 5))) {
        f.cases--;
      }
    }
    out += s.slice(i, i + step);
    i += step;
  }
  return { ok: true, command: out };
}

const WHERE: Record<Unsafe, [string, string]> = {
  backticks: ['inside backticks', 'Use $(…) instead of backticks'],
  'parameter expansion': ['inside ${…}', 'Move it out of ${…}'],
  'ansi-c quotes': ["inside $'…'", "Use '…' or \"…\" instead of $'…'"],
  'here-document': ['after a here-document (<<)', 'Pass the value as an argument instead'],
};

/** Why a placeholder cannot be substituted, and the fix (the caller names the target). */
export function expansionProblem(e: Extract<Expansion, { ok: false }>, params: Params | undefined): string {
  if (e.problem !== 'missing') {
    const [where, fix] = WHERE[e.problem];
    return `\`run\` uses ${e.placeholder} ${where}, where sbuild cannot quote a value safely. ${fix}, or give \`run\` as an argv array.`;
  }
  const have = paramPaths(params);
  if (have.length === 0) return `\`run\` uses ${e.placeholder}, but the target has no params. Give it \`params\` holding ${e.key}, or remove the placeholder.`;
  const shown = have.length > 12 ? `${have.slice(0, 12).join(', ')}, +${have.length - 12} more` : have.join(', ');
  return `\`run\` uses ${e.placeholder}, but the target has no param ${e.key} (its params: ${shown}). Add ${e.key} to its \`params\`, or correct the placeholder.`;
}
