/**
 * The 'native' classifier backend: the addon's NativeClassifier (native/addon/classifier_wrap.cc)
 * tokenises, runs the student's fast path and the softmax on the core's thread pool. The sync
 * call runs on the calling thread; the async one on a libuv worker, so the event loop stays free.
 * Texts go over as one joined string per slice (lib/joined-texts.ts), whose results are stitched
 * back together here. Registered in lib/classifier.ts (priority 100, before 'wasm').
 */
import { loadAddon, RawNativeClassifier } from '../binding';
import { ModelFolder, nativeQuantization } from '../model-folder';
import { NativeStudent, rawStudent } from '../student';
import { readVocabFile } from '../vocab';
import { joinTexts, sliceTexts } from '../joined-texts';
import { BackendUnavailableError, type BackendInitContext, type ClassifierBackend } from './registry';

export function createNativeBackend({ folder, threads }: BackendInitContext): ClassifierBackend {
  // First, so a missing addon is reported as such (and only then may the wasm fallback run).
  try {
    loadAddon();
  } catch (err) {
    throw new BackendUnavailableError((err as Error).message, { cause: err });
  }
  const vocabTokens = readVocabFile(folder.vocabPath);
  const student = NativeStudent.create(folder.spec, { quantization: nativeQuantization(folder.config) });
  try {
    student.loadWeights(folder.weightsPath);
    return new NativeClassifierBackend(folder, student, vocabTokens, threads);
  } catch (err) {
    student.dispose();
    throw err;
  }
}

export class NativeClassifierBackend implements ClassifierBackend {
  readonly name = 'native' as const;
  private readonly native: RawNativeClassifier;
  private readonly student: NativeStudent;

  constructor(folder: ModelFolder, student: NativeStudent, vocabTokens: string[], private readonly threads: number) {
    const addon = loadAddon();
    this.student = student;
    this.native = new addon.NativeClassifier(
      vocabTokens,
      folder.config.lowercase,
      rawStudent(student),
      folder.config.maxLength,
      folder.config.addSpecialTokens,
    );
  }

  probabilitiesSync(texts: string[]): Float32Array {
    const parts = sliceTexts(texts).map(([from, to]) => this.native.predict(...joinTexts(texts, from, to), this.threads));
    return concat(parts);
  }

  async probabilities(texts: string[]): Promise<Float32Array> {
    const parts: Float32Array[] = [];
    for (const [from, to] of sliceTexts(texts)) parts.push(await this.native.predictAsync(...joinTexts(texts, from, to), this.threads));
    return concat(parts);
  }

  close(): void {
    this.native.close();
    this.student.dispose();
  }
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
