/**
 * Config errors: every problem of a file, each naming the file, the line and
 * the key, collected into one ConfigError so a user fixes them in one pass.
 */
import type { Config } from './types';

export interface ConfigProblem {
  /** 1-based line, when the problem has one. */
  line?: number;
  section?: string;
  key?: string;
  message: string;
}

/** Everything wrong with one config file; `message` lists every problem, one per line. */
export class ConfigError extends Error {
  readonly file: string;
  readonly problems: ConfigProblem[];
  constructor(file: string, problems: ConfigProblem[]) {
    const lines = problems.map((p) => formatProblem(file, p));
    super(lines.length === 1 ? lines[0] : `${file} has ${lines.length} problems:\n  ${lines.join('\n  ')}`);
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

function formatProblem(file: string, p: ConfigProblem): string {
  return p.line !== undefined ? `${file}:${p.line}: ${p.message}` : `${file}: ${p.message}`;
}

/**
 * An error about a loaded config's value found later (e.g. by the trainer),
 * pointing at the line that set it when there is one.
 */
export function configProblem(config: Config, section: string, key: string, message: string): ConfigError {
  const line = config.lines[`${section}.${key}`];
  return new ConfigError(config.file, [{ line, section, key, message: `[${section}] ${key}: ${message}` }]);
}
