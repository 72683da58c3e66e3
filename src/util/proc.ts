// Processes as Linux's /proc shows them: enough to tell a live process from an exited one and
// from a later process that reused its pid (the start time), and to list a process group.
// The writer lock judges its holder with it, and recovery finds the jobs a killed build left.
import fs from 'node:fs';
import { namesIn } from './fs.js';

export interface Proc {
  pid: number;
  pgid: number;
  /** Field 3 of /proc/PID/stat: R, S, D, Z (zombie), X (dead), … */
  state: string;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat). */
  start: string;
}

/** One process from /proc/PID/stat; undefined when there is none (or no /proc). */
export function procStat(pid: number): Proc | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so fields are
  // counted after the last ')'. rest[0] is field 3 (state), rest[2] field 5 (pgrp), rest[19] field 22.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const start = rest[19];
  if (!state || !start) return undefined;
  return { pid, pgid: Number(rest[2]), state, start };
}

/** Every process /proc lists (empty without /proc). */
export function allProcs(): Proc[] {
  const out: Proc[] = [];
  for (const n of namesIn('/proc')) {
    if (n.charCodeAt(0) < 48 || n.charCodeAt(0) > 57) continue;
    const p = procStat(Number(n));
    if (p) out.push(p);
  }
  return out;
}

/** Exited (a zombie nobody reaped yet, or on its way out): it runs no code and writes nothing. */
export function exited(p: Pick<Proc, 'state'>): boolean {
  return p.state === 'Z' || p.state === 'X' || p.state === 'x';
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };

/**
 * True when `pid` would die of `sig` and has nothing pending that would kill it: the signal is
 * neither caught, ignored, blocked nor pending there (from /proc/PID/status). False when that
 * cannot be told (no /proc, the process is gone, another signal).
 */
export function unsignalled(pid: number, sig: NodeJS.Signals): boolean {
  const n = SIGNAL_NUMBERS[sig];
  if (n === undefined) return false;
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  const bit = 1n << BigInt(n - 1);
  for (const field of ['SigCgt', 'SigIgn', 'SigBlk', 'SigPnd', 'ShdPnd']) {
    const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(text);
    if (!m) return false;
    if (BigInt(`0x${m[1]}`) & bit) return false;
  }
  return true;
}

