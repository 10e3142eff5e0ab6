/**
 * The resolved config saved beside a run: every value, defaults filled and
 * paths absolute, as JSON, so a run can be reproduced and compared.
 */
import { writeFileAtomic } from '../util/files';
import type { Config } from './types';

export const RESOLVED_CONFIG_FORMAT = 'model-distill-resolved-config';
export const RESOLVED_CONFIG_VERSION = 1;

/** Every value of `config`, defaults filled and paths absolute, as pretty JSON (with a final newline). */
export function resolvedConfigJson(config: Config, extra: { uniqid?: string } = {}): string {
  const out = {
    format: RESOLVED_CONFIG_FORMAT,
    version: RESOLVED_CONFIG_VERSION,
    source: config.file,
    ...(extra.uniqid !== undefined ? { uniqid: extra.uniqid } : {}),
    data: config.data,
    model: config.model,
    textcnn: config.textcnn,
    gru: config.gru,
    train: config.train,
    teacher: config.teacher,
    distill: config.distill,
    labels: config.labels,
  };
  return JSON.stringify(out, null, 2) + '\n';
}


/** Writes resolvedConfigJson() to `target` atomically (temp file in the same folder, then rename). */
export function writeResolvedConfig(config: Config, target: string, extra: { uniqid?: string } = {}): void {
  writeFileAtomic(target, resolvedConfigJson(config, extra));
}
