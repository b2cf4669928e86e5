/**
 * Command-line flags: `--name value`, `--name=value`, lists (`--image a.png b.png`, or the flag repeated), and
 * switches (`--json`). A list takes every following argument up to the next one that starts with `--`; a value
 * that itself starts with `--` is written `--text=--like-this`. Anything unexpected is a UsageError.
 */

export type FlagSpec =
  | { kind: 'switch' }
  | { kind: 'string'; required?: boolean; choices?: readonly string[]; value?: string }
  | { kind: 'number'; min?: number; value?: string }
  | { kind: 'list'; required?: boolean; value?: string };

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Parsed values, typed from the specs: required strings are strings, lists arrays, switches booleans. */
export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]: S[K] extends { kind: 'switch' }
    ? boolean
    : S[K] extends { kind: 'list' }
      ? string[]
      : S[K] extends { kind: 'number' }
        ? number | undefined
        : S[K] extends { required: true }
          ? string
          : string | undefined;
};

/** A mistake in how the command was called: reported with the command's usage line. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const FLAG = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s;

export function parseFlags<S extends FlagSpecs>(argv: readonly string[], specs: S): FlagValues<S> {
  const values: Record<string, string | string[] | boolean | number | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.kind === 'switch' ? false : spec.kind === 'list' ? [] : undefined;
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i++]!;
    const match = FLAG.exec(arg);
    if (!match) throw new UsageError(arg.startsWith('-') ? `unknown flag ${arg}` : `unexpected argument ${JSON.stringify(arg)}`);
    const [, name, inline] = match as unknown as [string, string, string | undefined];
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    const next = (): string => {
      if (inline !== undefined) return inline;
      const value = argv[i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      i++;
      return value;
    };
    switch (spec.kind) {
      case 'switch':
        if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
        values[name] = true;
        break;
      case 'list': {
        const list = values[name] as string[];
        list.push(next());
        if (inline === undefined) while (i < argv.length && !argv[i]!.startsWith('--')) list.push(argv[i++]!);
        break;
      }
      case 'string': {
        if (values[name] !== undefined) throw new UsageError(`--${name} is given twice`);
        const value = next();
        if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`--${name} must be ${spec.choices.join(' or ')}, not ${JSON.stringify(value)}`);
        values[name] = value;
        break;
      }
      case 'number': {
        if (values[name] !== undefined) throw new UsageError(`--${name} is given twice`);
        const text = next();
        const value = Number(text);
        if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, not ${JSON.stringify(text)}`);
        if (spec.min !== undefined && value < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}, not ${value}`);
        values[name] = value;
        break;
      }
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    const missing = spec.kind === 'list' ? (values[name] as string[]).length === 0 : values[name] === undefined;
    if ('required' in spec && spec.required && missing) throw new UsageError(`--${name} is required`);
  }
  return values as FlagValues<S>;
}

/** The flags of a usage line: `--checkpoint F [--weights student|teacher] --image I... [--json]`. */
export function synopsis(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(([name, spec]) => {
      const text =
        spec.kind === 'switch'
          ? `--${name}`
          : spec.kind === 'list'
            ? `--${name} ${spec.value ?? 'V'}...`
            : `--${name} ${spec.kind === 'string' && spec.choices ? spec.choices.join('|') : (spec.value ?? 'V')}`;
      return 'required' in spec && spec.required ? text : `[${text}]`;
    })
    .join(' ');
}
