#!/usr/bin/env node
/**
 * The `model-distill` command: finds the subcommand, parses its flags, runs it.
 *
 * Exit codes: 0 success, 1 the command failed (bad file, bad data), 2 the command
 * was called wrongly (unknown command or flag, bad flag value). Errors print one
 * line, `model-distill: <message>`; set MODEL_DISTILL_DEBUG=1 to see the stack.
 */
import { commandHelp, parseArgs, UsageError, type CommandSpec } from './commands/args';
import { commands } from './commands';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function version(): string {
  // package.json sits two levels above dist/lib/cli.js and one above lib/cli.ts.
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json sits at another depth in dist/
      const pkg = require(rel) as { name?: string; version?: string };
      if (pkg.name === 'model-distill' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'Usage: model-distill <command> [options]',
    '',
    'Distil a large text classifier into tiny, fast students, on a native C++ core.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run `model-distill <command> --help` for the options of one command.',
    'Options: --help, --version. Set MODEL_DISTILL_DEBUG=1 to print stack traces.',
    '',
  ].join('\n');
}

/** Runs the CLI on argv (without node and the script) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    const command = topic ? commands.find((c) => c.name === topic) : undefined;
    if (topic && !command) throw new UsageError(`unknown command '${topic}' (commands: ${commands.map((c) => c.name).join(', ')})`);
    process.stdout.write(command ? commandHelp(command) : mainHelp());
    return first === undefined ? EXIT_USAGE : 0;
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const command: CommandSpec | undefined = commands.find((c) => c.name === first);
  if (!command) {
    throw new UsageError(`unknown command '${first}' (commands: ${commands.map((c) => c.name).join(', ')}; see model-distill --help)`);
  }
  const beforeDashDash = rest.indexOf('--') >= 0 ? rest.slice(0, rest.indexOf('--')) : rest;
  if (beforeDashDash.includes('--help') || beforeDashDash.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const args = parseArgs(command, rest);
  const code = await command.run(args);
  return typeof code === 'number' ? code : 0;
}

/** Prints an error the way the CLI promises: one line, a stack only when debugging. */
export function reportError(err: unknown): number {
  const debug = process.env.MODEL_DISTILL_DEBUG === '1';
  const message = err instanceof Error ? err.message : String(err);
  const text = message.startsWith('model-distill: ') ? message : `model-distill: ${message}`;
  process.stderr.write(text + '\n');
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

if (require.main === module) {
  // A reader that closes our stdout early (`model-distill tokenize ... | head`) is
  // not an error: stop quietly, as Unix tools do.
  // Any other write error (ENOSPC on a full disk, EIO) is one line naming stdout, no stack.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    process.stderr.write(`model-distill: cannot write to stdout: ${err.message}\n`);
    process.exit(1);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.exitCode = reportError(err);
    }
  );
}
