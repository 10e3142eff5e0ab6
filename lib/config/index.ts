/**
 * config.ini: every path and hyper-parameter of a run, loaded, checked and typed.
 * The public face of lib/config/; importers use `../config` and get the same
 * names the single lib/config.ts exported. Where each part lives:
 *   types.ts           the typed result (one interface per section, Config)
 *   errors.ts          ConfigProblem, ConfigError, configProblem
 *   schema.ts          every section and key with its limits, default and doc
 *   scan.ts            the line scanner (sections, raw entries, line numbers)
 *   suggest.ts         "did you mean" hints
 *   section-reader.ts  typed values of one section
 *   parse.ts           loadConfig / parseConfig, one function per section
 *   run-name.ts        resolveUniqid, runDir
 *   resolved.ts        the resolved config saved beside a run
 */
export * from './types';
export { ConfigError, configProblem, type ConfigProblem } from './errors';
export { CONFIG_SCHEMA, DEFAULT_EMBEDDING_DIM, MAX_ENSEMBLE_MEMBERS } from './schema';
export { readConfigEntries } from './scan';
export { hasEnsemble, hasTeacher, loadConfig, parseConfig } from './parse';
export { resolveUniqid, runDir, TIME_UNIQID } from './run-name';
export { RESOLVED_CONFIG_FORMAT, RESOLVED_CONFIG_VERSION, resolvedConfigJson, writeResolvedConfig } from './resolved';
