// Command-line flags (`--name value`) and the two kinds of expected failure: a usage error (bad
// or missing flags: exit 2) and a tool error (bad input files: exit 1). Both carry the whole message.

export class UsageError extends Error {
  override name = 'UsageError';
}

export class ToolError extends Error {
  override name = 'ToolError';
}

/** The flags of one subcommand: each `--name value`, every name known, none twice. */
export class Flags {
  private readonly values = new Map<string, string>();

  constructor(argv: string[], known: readonly string[]) {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] as string;
      if (arg === '--cfg-options' && known.includes('cfg-options')) {
        // MMEngine's form: KEY=VALUE arguments up to the next flag.
        const items: string[] = [];
        while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) items.push(argv[++i]!);
        if (!items.length) throw new UsageError('flag --cfg-options needs KEY=VALUE arguments');
        if (this.values.has('cfg-options')) throw new UsageError('flag --cfg-options given twice');
        this.values.set('cfg-options', items.join('\0'));
        continue;
      }
      if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}' (flags are --name value)`);
      let name = arg.slice(2);
      let value: string | undefined;
      const eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      } else {
        value = argv[++i];
      }
      if (!known.includes(name)) {
        throw new UsageError(`unknown flag --${name} (known: ${known.map((k) => `--${k}`).join(', ')})`);
      }
      if (value === undefined || (value.startsWith('--') && eq < 0)) throw new UsageError(`flag --${name} needs a value`);
      if (this.values.has(name)) throw new UsageError(`flag --${name} given twice`);
      this.values.set(name, value);
    }
  }

  /** A flag of several arguments (`--cfg-options a=1 b=2`); empty when absent. */
  list(name: string): string[] {
    const v = this.values.get(name);
    return v === undefined ? [] : v.split('\0');
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** A required string flag. */
  str(name: string): string {
    const v = this.values.get(name);
    if (v === undefined) throw new UsageError(`missing required flag --${name}`);
    if (v === '') throw new UsageError(`flag --${name} must not be empty`);
    return v;
  }

  optStr(name: string): string | undefined {
    return this.values.has(name) ? this.str(name) : undefined;
  }

  /** An integer flag in [min, max], with a default when absent. */
  int(name: string, def: number | undefined, min: number, max: number): number {
    const v = this.values.get(name);
    if (v === undefined) {
      if (def === undefined) throw new UsageError(`missing required flag --${name}`);
      return def;
    }
    if (!/^-?[0-9]+$/.test(v)) throw new UsageError(`flag --${name} must be an integer, got '${v}'`);
    const n = Number(v);
    if (n < min || n > max) throw new UsageError(`flag --${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  optInt(name: string, min: number, max: number): number | undefined {
    return this.values.has(name) ? this.int(name, undefined, min, max) : undefined;
  }

  choice<T extends string>(name: string, choices: readonly T[]): T {
    const v = this.str(name);
    if (!(choices as readonly string[]).includes(v)) {
      throw new UsageError(`flag --${name} must be one of ${choices.join(', ')}, got '${v}'`);
    }
    return v as T;
  }
}
