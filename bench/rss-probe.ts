/**
 * Memory of one loaded model, measured in a process of its own (RSS is per process):
 *   node [tsx flags] bench/rss-probe.ts MODEL_DIR
 * prints {"rssBaseMB", "rssLoadedMB", "loadedMB"}: resident memory with the addon loaded, then
 * after Classifier.load plus one prediction (the native backend builds its tables on first use),
 * and the difference, the model's own share. Used by bench/predict.ts and
 * bench/quantized-accuracy.ts.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

export interface RssFigures {
  rssBaseMB: number;
  rssLoadedMB: number;
  loadedMB: number;
}

/** Runs this file in a child process on `modelDir` and returns its figures. */
export function measureLoadedRss(modelDir: string): RssFigures {
  const child = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', __filename, modelDir], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`rss probe of ${modelDir} failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as RssFigures;
}

async function main(modelDir: string): Promise<void> {
  const { Classifier } = await import('../lib/classifier');
  const { NativeStudent } = await import('../lib/student');
  // A tiny model's prepareInference first: it loads the addon and hands the heap's free pages back
  // to the OS (native/core/memory_trim.h), as the measured model's own prepare will; without it
  // that release would be counted against the measured model.
  const tiny = NativeStudent.create({ kind: 'textcnn', vocabSize: 8, numClasses: 2, embeddingDim: 4, windows: [2], filters: 4, dropout: 0, seed: 1 });
  tiny.prepareInference();
  tiny.dispose();
  // Collected before each reading (when run with --expose-gc, as measureLoadedRss does): the JS
  // garbage of loading (file text, parsed JSON) would otherwise count or not by the GC's timing,
  // which moved single readings by +-0.5 MB.
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const mb = () => {
    collect();
    collect();
    return process.memoryUsage.rss() / 1e6;
  };
  const base = mb();
  const clf = await Classifier.load(modelDir, { threads: 1 });
  clf.predictProbabilitiesSync(['物流很快，质量也不错']);
  const loaded = mb();
  process.stdout.write(JSON.stringify({ rssBaseMB: base, rssLoadedMB: loaded, loadedMB: loaded - base }) + '\n');
  clf.close();
}

if (require.main === module) {
  main(path.resolve(process.argv[2])).catch((err: unknown) => {
    process.stderr.write(String((err as Error).stack ?? err) + '\n');
    process.exitCode = 1;
  });
}
