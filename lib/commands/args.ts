/**
 * A small command-line parser shared by every `model-distill` subcommand.
 *
 * Why not util.parseArgs: the CLI takes `--input a.tsv b.txt` (several values
 * after one flag) and wants error messages that name the flag and the bad value
 * ("Expected positive integer for --max-length but received -1"), so a
 * forty-line parser of our own is simpler than wrapping parseArgs' messages.
 */

/** A mistake in how the command was called. The CLI prints it and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * One flag of a command.
 * - boolean: present or not (`--tokens`, `--no-lower-case`)
 * - string: one value (`--vocab FILE` or `--vocab=FILE`)
 * - strings: one or more values, up to the next flag (`--input a b c`); may repeat
 * - positive-int / non-negative-int: one whole number, checked
 */
export interface FlagSpec {
  name: string; // without the leading dashes, e.g. 'max-length'
  type: 'boolean' | 'string' | 'strings' | 'positive-int' | 'non-negative-int';
  valueName?: string; // shown in help, e.g. FILE or N
  description: string;
  required?: boolean;
  defaultText?: string; // shown in help
}

export interface CommandSpec {
  name: string;
  summary: string; // one line, for `model-distill --help`
  usage: string; // e.g. 'tokenize --vocab FILE [options] < input.txt'
  details?: string; // paragraphs printed after the usage line
  flags: FlagSpec[];
  /** How many positional arguments the command takes (default 0). */
  positionals?: { min: number; max: number; names: string };
  run(args: ParsedArgs): Promise<number | void>;
}

export interface ParsedArgs {
  flags: Map<string, boolean | string | string[] | number>;
  positionals: string[];
}

function isFlag(arg: string): boolean {
  return arg.startsWith('--') && arg.length > 2;
}

function parseInteger(flag: FlagSpec, raw: string): number {
  const kind = flag.type === 'positive-int' ? 'positive integer' : 'non-negative integer';
  const value = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  const min = flag.type === 'positive-int' ? 1 : 0;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`Expected ${kind} for --${flag.name} but received ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Parses argv (without node, script and command name) against the command's flags. */
export function parseArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const byName = new Map(spec.flags.map((f) => [f.name, f]));
  const flags = new Map<string, boolean | string | string[] | number>();
  const positionals: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!isFlag(arg)) {
      if (arg.startsWith('-') && arg !== '-') {
        throw new UsageError(`unknown option ${arg} for '${spec.name}' (see model-distill ${spec.name} --help)`);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const inlineValue = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const flag = byName.get(name);
    if (!flag) {
      throw new UsageError(`unknown option --${name} for '${spec.name}' (see model-distill ${spec.name} --help)`);
    }
    if (flag.type === 'boolean') {
      if (inlineValue !== undefined) throw new UsageError(`--${name} takes no value but received ${JSON.stringify(inlineValue)}`);
      flags.set(name, true);
      continue;
    }
    if (flag.type === 'strings') {
      const values = (flags.get(name) as string[] | undefined) ?? [];
      if (inlineValue !== undefined) values.push(inlineValue);
      while (inlineValue === undefined && i + 1 < argv.length && !isFlag(argv[i + 1]) && argv[i + 1] !== '--') {
        values.push(argv[++i]);
      }
      if (values.length === 0) throw new UsageError(`--${name} needs at least one ${flag.valueName ?? 'value'}`);
      flags.set(name, values);
      continue;
    }
    let raw = inlineValue;
    if (raw === undefined) {
      // A value may itself start with '-' (e.g. --max-length -1) but never with '--'.
      if (i + 1 >= argv.length || isFlag(argv[i + 1])) {
        throw new UsageError(`--${name} needs a value (${flag.valueName ?? 'value'})`);
      }
      raw = argv[++i];
    }
    if (flags.has(name)) throw new UsageError(`--${name} was given twice`);
    flags.set(name, flag.type === 'string' ? raw : parseInteger(flag, raw));
  }

  for (const flag of spec.flags) {
    if (flag.required && !flags.has(flag.name)) {
      throw new UsageError(`'${spec.name}' needs --${flag.name} ${flag.valueName ?? ''}`.trimEnd() + ` (see model-distill ${spec.name} --help)`);
    }
  }
  const pos = spec.positionals ?? { min: 0, max: 0, names: '' };
  if (positionals.length < pos.min) {
    throw new UsageError(`'${spec.name}' needs ${pos.names} (see model-distill ${spec.name} --help)`);
  }
  if (positionals.length > pos.max) {
    const extra = positionals.slice(pos.max).map((p) => JSON.stringify(p)).join(' ');
    throw new UsageError(`unexpected argument ${extra} for '${spec.name}' (see model-distill ${spec.name} --help)`);
  }
  return { flags, positionals };
}

/** Typed getters, so commands read their flags without casts. */
export function flagString(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name) as string | undefined;
}
export function flagStrings(args: ParsedArgs, name: string): string[] {
  return (args.flags.get(name) as string[] | undefined) ?? [];
}
export function flagNumber(args: ParsedArgs, name: string): number | undefined {
  return args.flags.get(name) as number | undefined;
}
export function flagBoolean(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true;
}

/** The text of `model-distill <command> --help`. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`Usage: model-distill ${spec.usage}`, '', spec.summary];
  if (spec.details) lines.push('', spec.details.trim());
  // --help is accepted by every command; list it with the command's own flags.
  const flags: FlagSpec[] = [...spec.flags, { name: 'help', type: 'boolean', description: 'show this help' }];
  lines.push('', 'Options:');
  const labels = flags.map((f) => {
    const value = f.type === 'boolean' ? '' : f.type === 'strings' ? ` ${f.valueName ?? 'VALUE'}...` : ` ${f.valueName ?? 'VALUE'}`;
    return `  --${f.name}${value}`;
  });
  const width = Math.max(...labels.map((l) => l.length)) + 2;
  flags.forEach((f, i) => {
    const notes = [f.required ? '(required)' : '', f.defaultText ? `(default: ${f.defaultText})` : ''].filter(Boolean).join(' ');
    lines.push(labels[i].padEnd(width) + f.description + (notes ? ' ' + notes : ''));
  });
  return lines.join('\n') + '\n';
}
