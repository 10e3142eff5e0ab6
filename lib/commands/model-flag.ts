/**
 * `--model KIND` of predict, eval and export, checked before any file is read: an unknown kind is
 * a usage error (exit 2), like `--format xml`, not a failure of the run (exit 1).
 */
import { flagString, UsageError, type ParsedArgs } from './args';

/** The --model value, or undefined when absent; `extra` adds kinds a command also accepts ('teacher'). */
export function modelFlag(args: ParsedArgs, extra: readonly string[] = []): string | undefined {
  const value = flagString(args, 'model');
  if (value === undefined) return undefined;
  // Lazy: the CLI loads config.ts only for commands that need it.
  const { STUDENT_KINDS } = require('../config') as typeof import('../config');
  const allowed = [...STUDENT_KINDS, ...extra];
  if (!allowed.includes(value)) throw new UsageError(`Expected one of ${allowed.join(', ')} for --model but received ${JSON.stringify(value)}`);
  return value;
}
