// `-S key.path=value`: one setting of an experiment variant. Values are read the way MMEngine's
// `--cfg-options` (DictAction) reads them, because that is where they end up: the variant's
// fingerprint must hold the value the training program sees.
import type { Json } from './types.js';
import { SbuildError } from '../errors.js';

export interface Setting {
  /** Dotted key into the merged config (`optim_wrapper.optimizer.lr`). */
  key: string;
  value: Json;
  /** `+key=value`: the key is new (without `+`, a key the config lacks is a typo and refused). */
  add: boolean;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$/;

/** Parses one `-S` argument; a usage error (exit 2) naming it when it is not `key=value`. */
export function parseSetting(arg: string): Setting {
  const eq = arg.indexOf('=');
  const add = arg.startsWith('+');
  const key = eq < 0 ? '' : arg.slice(add ? 1 : 0, eq);
  if (eq < 0 || !KEY.test(key)) {
    throw new SbuildError(
      'usage',
      `-S '${arg}' is not a setting: write -S key.path=value, a dotted key of the merged config and its value (e.g. -S optim_wrapper.optimizer.lr=0.01, -S model.pfa=1e-3); -S +key=value adds a key the config does not have.`,
    );
  }
  const text = arg.slice(eq + 1);
  const value = parseCfgValue(text);
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new SbuildError('usage', `-S ${key}=${text}: ${text} is not a finite number, which a variant's record (JSON) cannot hold. Use a finite value.`);
  }
  return { key, value, add };
}

/** A value as MMEngine's DictAction parses `--cfg-options k=v`: numbers, True/False/None, lists and tuples, else the text. */
export function parseCfgValue(text: string): Json {
  let val = text.replace(/^['"]+|['"]+$/g, '').replace(/ /g, '');
  if ((val.startsWith('(') && val.endsWith(')')) || (val.startsWith('[') && val.endsWith(']'))) val = val.slice(1, -1);
  else if (!val.includes(',')) return scalar(val);
  const out: Json[] = [];
  while (val.length > 0) {
    const i = nextComma(val);
    out.push(parseCfgValue(val.slice(0, i)));
    val = val.slice(i + 1);
  }
  return out;
}

function scalar(v: string): Json {
  // Python's int() and float() also take `_` between digits.
  const D = '\\d+(?:_\\d+)*';
  if (new RegExp(`^[+-]?${D}$`).test(v)) return Number(v.replace(/_/g, ''));
  if (new RegExp(`^[+-]?(?:${D}\\.?(?:${D})?|\\.${D})(?:[eE][+-]?${D})?$`).test(v)) return Number(v.replace(/_/g, ''));
  if (/^[+-]?(?:inf|infinity|nan)$/i.test(v)) return Number(v.replace(/inf(inity)?/i, 'Infinity'));
  if (/^(?:true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  if (v === 'None') return null;
  return v;
}

/** The first comma outside brackets (DictAction's find_next_comma). */
function nextComma(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) return i;
  }
  return s.length;
}

/** A value as `--cfg-options` writes it, which parseCfgValue reads back. */
export function cfgValueText(v: Json): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(cfgValueText).join(',')}]`;
  throw new SbuildError('usage', `--cfg-options cannot pass a dict (${JSON.stringify(v)}); give each of its keys as its own dotted setting.`);
}
