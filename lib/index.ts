/**
 * model-distill: public API. Import from here (`require('model-distill')` or
 * `import { ... } from 'model-distill'`).
 */
import { loadAddon, addonAvailable, AddonLoadError } from './binding';

export { AddonLoadError, addonAvailable };
export { Tokenizer } from './tokenizer';
export type { TokenizerOptions, EncodeOptions, BatchEncodeOptions, BatchEncoding, DecodeOptions } from './tokenizer';

/** Versions and the SIMD level of the loaded native core. */
export function nativeInfo(): { coreVersion: string; simdLevel: string } {
  const addon = loadAddon();
  return { coreVersion: addon.coreVersion, simdLevel: addon.simdLevel() };
}
