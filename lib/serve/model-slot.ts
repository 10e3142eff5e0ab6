/**
 * One served model: its name, its folder, and the Classifier currently answering for it.
 *
 * Reload = Classifier.load() on the same path again (the path may point at the newest
 * generation of a model folder), then a swap of one reference. Requests take the reference and
 * call predict() in the same synchronous step, so each request runs entirely on the old or
 * entirely on the new model; the old Classifier is closed right after the swap, which lets
 * predictions already started (or queued in its micro-batcher) finish. A load that fails (a
 * corrupt or half-written folder) changes nothing: the old model keeps serving and the error is
 * reported. Reloads of one slot run one at a time.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';

import { Classifier, type ClassifierLoadOptions } from '../classifier';
import type { ServerMetrics } from './metrics';

export interface LoadedModel {
  classifier: Classifier;
  /** First 12 hex digits of the SHA-256 of the folder's config.json (which records when it was trained). */
  version: string;
  /** config.json createdAt. */
  createdAt: string;
  loadedAt: string;
}

export interface ReloadReport {
  model: string;
  ok: boolean;
  /** The version served after the reload (the old one when it failed). */
  version: string | null;
  previousVersion: string | null;
  error?: string;
}

export class ModelSlot {
  private loaded: LoadedModel | undefined;
  private reloading: Promise<ReloadReport> = Promise.resolve({ model: '', ok: true, version: null, previousVersion: null });
  /** The last reload's error, until a reload succeeds. */
  lastError: string | undefined;

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly loadOptions: ClassifierLoadOptions,
    private readonly metrics: ServerMetrics,
  ) {}

  /** The model answering now; throws before the first load. */
  get current(): LoadedModel {
    if (!this.loaded) throw new Error(`model ${this.name} is not loaded`);
    return this.loaded;
  }

  get ready(): boolean {
    return this.loaded !== undefined;
  }

  /** The first load; its error propagates (the server does not start without its models). */
  async load(): Promise<void> {
    this.swap(await this.loadFresh());
  }

  /** Loads the folder again and swaps; a failure keeps the old model and is reported, not thrown. */
  reload(): Promise<ReloadReport> {
    this.reloading = this.reloading.then(() => this.reloadNow());
    return this.reloading;
  }

  close(): void {
    this.loaded?.classifier.close();
    this.loaded = undefined;
  }

  private async reloadNow(): Promise<ReloadReport> {
    const previousVersion = this.loaded?.version ?? null;
    try {
      this.swap(await this.loadFresh());
      this.lastError = undefined;
      this.metrics.reloads.inc({ model: this.name, result: 'ok' });
      return { model: this.name, ok: true, version: this.current.version, previousVersion };
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.metrics.reloads.inc({ model: this.name, result: 'failed' });
      return { model: this.name, ok: false, version: previousVersion, previousVersion, error: this.lastError };
    }
  }

  private async loadFresh(): Promise<LoadedModel> {
    const classifier = await Classifier.load(this.dir, this.loadOptions);
    try {
      const configText = fs.readFileSync(classifier.folder.configPath);
      const createdAt = String((JSON.parse(configText.toString('utf8')) as { createdAt?: unknown }).createdAt ?? '');
      const version = createHash('sha256').update(configText).digest('hex').slice(0, 12);
      return { classifier, version, createdAt, loadedAt: new Date().toISOString() };
    } catch (err) {
      classifier.close();
      throw err;
    }
  }

  private swap(next: LoadedModel): void {
    const old = this.loaded;
    this.loaded = next;
    if (old) this.metrics.modelInfo.remove({ model: this.name, version: old.version, kind: old.classifier.kind });
    this.metrics.modelInfo.set({ model: this.name, version: next.version, kind: next.classifier.kind }, 1);
    // Predictions already started on the old model finish (Classifier.close lets them).
    old?.classifier.close();
  }
}
