// A reader for MMEngine-style Python config files: the literal subset that the public SARDet-100K /
// MMDetection configs use. A config is a list of top-level assignments `name = <literal>`; a literal
// is a number, a string, True/False/None, or a list, tuple, dict display or `dict(k=v, ...)` call of
// literals. `_base_ = 'a.py'` or `_base_ = ['a.py', 'b.py']` names base configs (relative to the
// config's folder) whose values the config inherits, with MMEngine's merge rules:
//   - later bases override earlier ones, the config overrides all of its bases;
//   - a dict merges key by key into the dict it overrides, recursively;
//   - a dict holding `_delete_=True` replaces the dict it overrides (the `_delete_` key is dropped).
// Anything else (imports, expressions, names of other variables, attribute assignments) is refused
// with `file:line:col: ...`, never silently skipped: a build keyed on what this reader returns must
// not miss what the file says.
import fs from 'node:fs';
import path from 'node:path';

/** A Python literal as JSON: tuples become arrays, dicts plain objects. */
export type PyValue = null | boolean | number | string | PyValue[] | { [k: string]: PyValue };

export interface MmConfig {
  /** The config as named by the caller (workspace-relative when a root was given). */
  file: string;
  /** Every file read: the config itself first, then its bases depth-first in listed order, each once. */
  chain: string[];
  /** The merged top-level values (without `_base_`). */
  values: Record<string, PyValue>;
  /** Every string value of a key named `checkpoint` or `load_from`, anywhere; sorted, unique. */
  weights: string[];
}

/** Every problem with a config: the message is the whole explanation, with file:line:col where one applies. */
export class MmConfigError extends Error {
  override name = 'MmConfigError';
}

const WEIGHT_KEYS = new Set(['checkpoint', 'load_from']);
const DELETE_KEY = '_delete_';

/**
 * Reads `file` and its bases. `file` may be absolute or relative to `root` (or to the cwd when no
 * root is given); the paths in `chain` and in messages are relative to `root` when given, with `/`.
 */
export function readMmConfig(file: string, root?: string): MmConfig {
  const base = root === undefined ? process.cwd() : path.resolve(root);
  const abs = path.resolve(base, file);
  const show = (p: string): string => {
    if (root === undefined && path.isAbsolute(file)) return toSlash(p);
    return toSlash(path.relative(base, p));
  };
  if (!isFile(abs)) throw new MmConfigError(`config file not found: ${show(abs)}`);
  const loader = new Loader(show);
  const values = loader.load(abs, []);
  const merged = stripDelete(values) as Record<string, PyValue>;
  const weights = new Set<string>();
  collectWeights(merged, weights);
  return {
    file: show(abs),
    chain: loader.chain.map(show),
    values: merged,
    weights: [...weights].sort(),
  };
}

function toSlash(p: string): string {
  return p.split(path.sep).join('/');
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Loads configs with their bases; each file is parsed once even when several heirs name it. */
class Loader {
  readonly chain: string[] = [];
  private readonly done = new Map<string, Record<string, PyValue>>();
  constructor(private readonly show: (p: string) => string) {}

  load(abs: string, stack: string[]): Record<string, PyValue> {
    const cached = this.done.get(abs);
    if (cached) return cached;
    this.chain.push(abs);
    const display = this.show(abs);
    const parsed = parseConfig(fs.readFileSync(abs, 'utf8'), display);
    let merged: Record<string, PyValue> = {};
    for (const ref of parsed.bases) {
      const target = path.resolve(path.dirname(abs), ref.spec);
      const at = `${display}:${ref.line}:${ref.col}`;
      if (target === abs || stack.includes(target)) {
        const cycle = [...stack, abs, target].slice([...stack, abs].indexOf(target));
        throw new MmConfigError(`config inheritance cycle: ${cycle.map(this.show).join(' -> ')} (the last link is _base_ at ${at})`);
      }
      if (!isFile(target)) {
        throw new MmConfigError(`${at}: base config '${ref.spec}' not found (resolved to ${this.show(target)})`);
      }
      merged = mergeInto(merged, this.load(target, [...stack, abs]), this.show(target), '');
    }
    merged = mergeInto(merged, parsed.values, display, '');
    this.done.set(abs, merged);
    return merged;
  }
}

function isDict(v: PyValue | undefined): v is { [k: string]: PyValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets a key without invoking a setter (a config may well say `__proto__`). */
function setKey(obj: { [k: string]: PyValue }, key: string, value: PyValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** MMEngine's merge of `over` into `under`: returns a new object, neither input changes. */
function mergeInto(
  under: { [k: string]: PyValue },
  over: { [k: string]: PyValue },
  file: string,
  prefix: string,
): { [k: string]: PyValue } {
  const out: { [k: string]: PyValue } = {};
  for (const [k, v] of Object.entries(under)) setKey(out, k, v);
  for (const [k, v] of Object.entries(over)) {
    const old = Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined;
    if (isDict(v) && old !== undefined && v[DELETE_KEY] !== true) {
      if (!isDict(old)) {
        throw new MmConfigError(
          `${file}: '${prefix}${k}' is a dict here but ${describe(old)} in its base; ` +
            `add _delete_=True to replace it instead of merging`,
        );
      }
      setKey(out, k, mergeInto(old, v, file, `${prefix}${k}.`));
    } else {
      setKey(out, k, v);
    }
  }
  return out;
}

function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'bool' : 'string'}`;
}

function stripDelete(v: PyValue): PyValue {
  if (Array.isArray(v)) return v.map(stripDelete);
  if (!isDict(v)) return v;
  const out: { [k: string]: PyValue } = {};
  for (const [k, x] of Object.entries(v)) if (k !== DELETE_KEY) setKey(out, k, stripDelete(x));
  return out;
}

function collectWeights(v: PyValue, into: Set<string>): void {
  if (Array.isArray(v)) {
    for (const x of v) collectWeights(x, into);
  } else if (isDict(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (WEIGHT_KEYS.has(k) && typeof x === 'string') into.add(x);
      else collectWeights(x, into);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer and parser

interface BaseRef {
  spec: string;
  line: number;
  col: number;
}

interface Parsed {
  bases: BaseRef[];
  values: Record<string, PyValue>;
}

type TokKind = 'name' | 'number' | 'string' | 'op' | 'newline' | 'eof';
interface Tok {
  kind: TokKind;
  text: string; // source text (for messages)
  value?: string | number; // decoded string or number
  line: number;
  col: number;
}

const STATEMENTS = 'statements other than assignments are not supported';
const KEYWORDS_REFUSED = new Map<string, string>([
  ['import', 'imports are not supported'],
  ['from', 'imports are not supported'],
  ['def', 'function definitions are not supported'],
  ['class', 'class definitions are not supported'],
  ...['if', 'for', 'while', 'with', 'try', 'del', 'assert', 'return', 'pass', 'global'].map((k): [string, string] => [k, STATEMENTS]),
  ['lambda', 'lambda expressions are not supported'],
]);

/** Parses one config's text; `file` is only used in messages. */
export function parseConfig(text: string, file: string): Parsed {
  const toks = tokenize(text, file);
  let i = 0;
  const last = toks.length - 1; // the eof token, which is never passed
  const peek = (): Tok => toks[Math.min(i, last)] as Tok;
  const next = (): Tok => toks[Math.min(i++, last)] as Tok;
  const fail = (t: Tok, msg: string): never => {
    throw new MmConfigError(`${file}:${t.line}:${t.col}: ${msg}`);
  };
  const found = (t: Tok): string => {
    switch (t.kind) {
      case 'eof':
        return 'end of file';
      case 'newline':
        return 'end of line';
      case 'string':
        return `string ${t.text}`;
      case 'number':
        return `number ${t.text}`;
      case 'name':
        return `name '${t.text}'`;
      default:
        return `'${t.text}'`;
    }
  };
  const isOp = (t: Tok, op: string): boolean => t.kind === 'op' && t.text === op;
  const expectOp = (op: string, context: string): Tok => {
    const t = next();
    if (!isOp(t, op)) fail(t, `expected '${op}' ${context}, found ${found(t)}`);
    return t;
  };

  const values: Record<string, PyValue> = {};
  let bases: BaseRef[] = [];

  // After a complete value: the only things that may follow are a separator or a closer.
  const checkAfterValue = (closers: string[]): void => {
    const t = peek();
    if (t.kind === 'op' && (t.text === ',' || closers.includes(t.text))) return;
    if (t.kind === 'newline' || t.kind === 'eof') {
      if (closers.length === 0) return;
      fail(t, `unsupported syntax: unclosed bracket, found ${found(t)}`);
    }
    const what =
      t.kind === 'op' && '+-*/%@&|^<>.[('.includes(t.text[0] ?? '')
        ? `expressions are not supported, only literal values (found ${found(t)})`
        : `expected ',' or ${closers.length ? closers.map((c) => `'${c}'`).join(' or ') : 'end of line'} after a value, found ${found(t)}`;
    fail(t, `unsupported syntax: ${what}`);
  };

  const parseValue = (closers: string[]): PyValue => {
    const t = next();
    let v: PyValue;
    if (t.kind === 'number') {
      v = t.value as number;
    } else if (t.kind === 'string') {
      let s = t.value as string;
      while (peek().kind === 'string') s += next().value as string; // 'a' 'b' concatenation
      v = s;
    } else if (t.kind === 'op' && t.text === '-') {
      const n = next();
      if (n.kind !== 'number') fail(n, `unsupported syntax: expected a number after '-', found ${found(n)}`);
      v = -(n.value as number);
    } else if (t.kind === 'op' && t.text === '[') {
      v = parseSeq(']');
    } else if (t.kind === 'op' && t.text === '(') {
      v = parseSeq(')');
    } else if (t.kind === 'op' && t.text === '{') {
      v = parseDictDisplay();
    } else if (t.kind === 'name') {
      if (t.text === 'True') v = true;
      else if (t.text === 'False') v = false;
      else if (t.text === 'None') v = null;
      else if (t.text === 'dict' && isOp(peek(), '(')) {
        next();
        v = parseDictCall();
      } else if (isOp(peek(), '(')) {
        return fail(t, `unsupported syntax: call of '${t.text}' (only dict(...) is supported)`);
      } else if (KEYWORDS_REFUSED.has(t.text)) {
        return fail(t, `unsupported syntax: ${KEYWORDS_REFUSED.get(t.text)} (found '${t.text}')`);
      } else {
        return fail(t, `unsupported syntax: name '${t.text}' refers to another variable; only literal values are supported`);
      }
    } else {
      return fail(t, `unsupported syntax: expected a value, found ${found(t)}`);
    }
    checkAfterValue(closers);
    return v;
  };

  const parseSeq = (close: string): PyValue[] => {
    const out: PyValue[] = [];
    while (!isOp(peek(), close)) {
      out.push(parseValue([close]));
      if (isOp(peek(), ',')) next();
    }
    next();
    return out;
  };

  const parseDictDisplay = (): { [k: string]: PyValue } => {
    const out: { [k: string]: PyValue } = {};
    while (!isOp(peek(), '}')) {
      const k = next();
      let key: string;
      if (k.kind === 'string') key = k.value as string;
      else if (k.kind === 'number') key = String(k.value);
      else return fail(k, `unsupported syntax: expected a string key in a dict, found ${found(k)}`);
      expectOp(':', 'after a dict key');
      setKey(out, key, parseValue(['}']));
      if (isOp(peek(), ',')) next();
    }
    next();
    return out;
  };

  const parseDictCall = (): { [k: string]: PyValue } => {
    const out: { [k: string]: PyValue } = {};
    while (!isOp(peek(), ')')) {
      const k = next();
      if (k.kind !== 'name') {
        return fail(k, `unsupported syntax: expected keyword arguments in dict(...), found ${found(k)}`);
      }
      if (Object.prototype.hasOwnProperty.call(out, k.text)) fail(k, `keyword argument '${k.text}' repeated in dict(...)`);
      expectOp('=', `after '${k.text}' in dict(...)`);
      setKey(out, k.text, parseValue([')']));
      if (isOp(peek(), ',')) next();
    }
    next();
    return out;
  };

  for (;;) {
    const t = next();
    if (t.kind === 'eof') break;
    if (t.kind === 'newline') continue;
    if (t.kind !== 'name') fail(t, `unsupported syntax: expected an assignment 'name = value', found ${found(t)}`);
    if (KEYWORDS_REFUSED.has(t.text)) fail(t, `unsupported syntax: ${KEYWORDS_REFUSED.get(t.text)} (found '${t.text}')`);
    const eq = peek();
    if (!isOp(eq, '=')) {
      fail(eq, `unsupported syntax: expected '=' after '${t.text}' (only 'name = value' assignments are supported), found ${found(eq)}`);
    }
    next();
    const start = peek();
    const startIndex = i;
    const v = parseValue([]);
    const end = next();
    if (end.kind !== 'newline' && end.kind !== 'eof') {
      fail(end, `unsupported syntax: expected end of line after the value of '${t.text}', found ${found(end)}`);
    }
    if (t.text === '_base_') {
      const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : null;
      if (list === null || list.some((x) => typeof x !== 'string')) {
        fail(start, `_base_ must be a string or a list of strings`);
      }
      // Point each base at its own string when the strings map one to one onto the entries.
      const strs = toks.slice(startIndex, i).filter((x) => x.kind === 'string');
      const at = (k: number): Tok => (strs.length === (list as string[]).length ? (strs[k] as Tok) : start);
      bases = (list as string[]).map((spec, k) => ({ spec, line: at(k).line, col: at(k).col }));
    } else {
      setKey(values, t.text, v);
    }
  }
  return { bases, values };
}

function tokenize(src: string, file: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let depth = 0;
  const col = (at: number): number => at - lineStart + 1;
  const fail = (at: number, msg: string): never => {
    throw new MmConfigError(`${file}:${line}:${col(at)}: ${msg}`);
  };
  const push = (kind: TokKind, start: number, end: number, value?: string | number): void => {
    toks.push({ kind, text: src.slice(start, end), value, line, col: col(start) });
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '\n' || c === '\r') {
      if (depth === 0 && toks.length && toks[toks.length - 1]?.kind !== 'newline') push('newline', i, i);
      if (c === '\r' && src[i + 1] === '\n') i++;
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\f') {
      // Indentation at the start of a statement would be an error in Python too.
      if (depth === 0 && i === lineStart) {
        let j = i;
        while (src[j] === ' ' || src[j] === '\t' || src[j] === '\f') j++;
        const after = src[j];
        if (after !== undefined && after !== '\n' && after !== '\r' && after !== '#') {
          fail(j, 'unsupported syntax: unexpected indentation');
        }
      }
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n' && src[i] !== '\r') i++;
      continue;
    }
    if (c === '\\') {
      // Explicit line continuation.
      let j = i + 1;
      if (src[j] === '\r') j++;
      if (src[j] === '\n') {
        i = j + 1;
        line++;
        lineStart = i;
        while (src[i] === ' ' || src[i] === '\t') i++; // a continued line may be indented
        continue;
      }
      fail(i, `unsupported syntax: unexpected '\\'`);
    }
    const start = i;
    // Strings, with optional prefixes.
    const prefix = /^([rRbBuUfF]{1,2})?(['"])/.exec(src.slice(i, i + 4));
    if (prefix) {
      const pre = (prefix[1] ?? '').toLowerCase();
      if (pre.includes('f')) fail(i, 'unsupported syntax: f-strings are not supported');
      if (pre.includes('b')) fail(i, 'unsupported syntax: bytes literals are not supported');
      const raw = pre.includes('r');
      const q = prefix[2] as string;
      i += pre.length;
      const triple = src.startsWith(q.repeat(3), i);
      const delim = triple ? q.repeat(3) : q;
      i += delim.length;
      const startLine = line;
      const startCol = col(start);
      let out = '';
      for (;;) {
        if (i >= src.length) {
          throw new MmConfigError(`${file}:${startLine}:${startCol}: unsupported syntax: unterminated string`);
        }
        if (src.startsWith(delim, i)) {
          i += delim.length;
          break;
        }
        const ch = src[i] as string;
        if (ch === '\n' || ch === '\r') {
          if (!triple) throw new MmConfigError(`${file}:${startLine}:${startCol}: unsupported syntax: unterminated string`);
          out += '\n';
          if (ch === '\r' && src[i + 1] === '\n') i++;
          i++;
          line++;
          lineStart = i;
          continue;
        }
        if (ch === '\\') {
          const e = src[i + 1];
          // A backslash as the file's last character: the string never ends (looping here would hang).
          if (e === undefined) throw new MmConfigError(`${file}:${startLine}:${startCol}: unsupported syntax: unterminated string`);
          if (raw) {
            out += ch + e;
            i += 2;
            continue;
          }
          const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };
          if (e === '\n') {
            i += 2;
            line++;
            lineStart = i;
            continue;
          }
          const esc = Object.prototype.hasOwnProperty.call(simple, e) ? simple[e] : undefined;
          if (esc !== undefined) {
            out += esc;
            i += 2;
            continue;
          }
          const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
          if (hexLen) {
            const hex = src.slice(i + 2, i + 2 + hexLen);
            if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) fail(i, `unsupported syntax: bad \\${e} escape in a string`);
            out += String.fromCodePoint(parseInt(hex, 16));
            i += 2 + hexLen;
            continue;
          }
          out += ch + e; // Python keeps unknown escapes as written
          i += 2;
          continue;
        }
        out += ch;
        i++;
      }
      toks.push({ kind: 'string', text: src.slice(start, i).split('\n')[0] as string, value: out, line: startLine, col: startCol });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)/.exec(src.slice(i));
      const text = m?.[0] ?? '';
      const after = src[i + text.length] ?? '';
      if (!text || /[A-Za-z0-9_]/.test(after)) {
        fail(i, `unsupported syntax: malformed number '${src.slice(i, i + text.length + 1)}'`);
      }
      const clean = text.replace(/_/g, '');
      let v: number;
      if (/^0[xX]/.test(clean)) v = parseInt(clean.slice(2), 16);
      else if (/^0[oO]/.test(clean)) v = parseInt(clean.slice(2), 8);
      else if (/^0[bB]/.test(clean)) v = parseInt(clean.slice(2), 2);
      else v = Number(clean);
      if (!Number.isFinite(v)) fail(i, `unsupported syntax: malformed number '${text}'`);
      i += text.length;
      push('number', start, i, v);
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i] as string)) i++;
      push('name', start, i);
      continue;
    }
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) {
      if (depth === 0) fail(i, `unsupported syntax: unmatched '${c}'`);
      depth--;
    }
    // Two-character operators, so messages show them whole.
    const two = src.slice(i, i + 2);
    if (['**', '//', '==', '!=', '<=', '>=', '+=', '-=', '*=', '/=', '->', ':='].includes(two)) {
      i += 2;
      push('op', start, i);
      continue;
    }
    i++;
    push('op', start, i);
  }
  if (depth > 0) {
    // Point at the last opener that was not closed.
    const stack: Tok[] = [];
    for (const t of toks) {
      if (t.kind !== 'op') continue;
      if ('([{'.includes(t.text)) stack.push(t);
      else if (')]}'.includes(t.text)) stack.pop();
    }
    const open = stack[stack.length - 1] as Tok;
    throw new MmConfigError(`${file}:${open.line}:${open.col}: unsupported syntax: '${open.text}' is never closed`);
  }
  toks.push({ kind: 'eof', text: '', line, col: col(i) });
  return toks;
}
