/**
 * `model-distill serve` as a user runs it (a child process, real signals): a run's student from
 * config.ini, SIGHUP reload, SIGTERM drain with requests in flight (none fail, exit 0);
 * --workers 2 (node:cluster) with reload and metrics covering every worker; usage errors.
 */
import { strict as assert } from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { CLI, REPO_ROOT, runCli, TINY_REVIEWS } from './helpers/cli';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';
import { trainTinyModelFolder } from './helpers/tiny-model';

interface Served {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `model-distill serve <args> --port 0` and waits for its "serving ... on http://..." line. */
function serve(args: string[], children: ChildProcess[]): Promise<Served> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', CLI, 'serve', ...args, '--port', '0'], {
    cwd: REPO_ROOT,
    env: { ...process.env, MODEL_DISTILL_DEBUG: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child); // killed by the suite's after hook whatever happens
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /serving.* on (http:\/\/[^\s]+)/.exec(stderr);
      if (m) resolve({ child, url: m[1], stderr: () => stderr, exited });
    });
    exited.then((code) => reject(new Error(`serve exited ${code} before listening:\n${stderr}`)));
  });
}

async function predict(url: string, texts: string[]): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

describe('model-distill serve (CLI, signals, workers)', function () {
  let tmp: string;
  let config: string;
  let modelDir: string;
  const children: ChildProcess[] = [];

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-serve-cli-'));
    config = writeConfigIni(tmp, tinyConfigText(TINY_REVIEWS, 'textcnn'));
    // A run's student where `train` would put it: <model.dir>/<uniqid>/<kind>.
    modelDir = await trainTinyModelFolder(path.join(tmp, 'runs', 'default', 'textcnn'), 'textcnn');
  });
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves a run\'s student; SIGHUP reloads; SIGTERM finishes the requests in flight and exits 0', async () => {
    // A long batching delay keeps requests in flight when SIGTERM arrives.
    const s = await serve([config, '--model', 'textcnn', '--max-delay-us', '300000'], children);
    const first = await predict(s.url, ['good']);
    assert.equal(first.status, 200);
    assert.equal(first.json.model, 'textcnn');

    s.child.kill('SIGHUP');
    await until(() => /reloaded textcnn: version \w+ -> \w+/.test(s.stderr()), 'the reload line');

    const inFlight = Array.from({ length: 10 }, (_, i) => predict(s.url, [`text ${i} good`]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    s.child.kill('SIGTERM');
    const replies = await Promise.all(inFlight);
    assert.deepEqual(replies.map((r) => r.status), new Array(10).fill(200));
    assert.equal(await s.exited, 0, s.stderr());
    assert.match(s.stderr(), /SIGTERM: draining[\s\S]*drained; exiting/);
  });

  it('--workers 2: both workers answer; /admin/reload reloads every worker; /metrics sums them; SIGTERM stops all', async () => {
    const s = await serve(['--model-dir', `tiny=${modelDir}`, '--workers', '2'], children);
    assert.match(s.stderr(), /with 2 workers/);
    const replies = await Promise.all(Array.from({ length: 20 }, () => predict(s.url, ['good'])));
    assert.ok(replies.every((r) => r.status === 200 && r.json.model === 'tiny'));
    const reload = (await (await fetch(`${s.url}/admin/reload`, { method: 'POST' })).json()) as { ok: boolean; results: { model: string; ok: boolean }[] };
    assert.equal(reload.ok, true);
    assert.deepEqual(reload.results.map((r) => r.model.replace(/\d+$/, 'N')).sort(), ['tiny@workerN', 'tiny@workerN']);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    // 20 predictions over two workers, summed by the primary.
    const counted = /model_distill_requests_total\{route="\/v1\/predict",status="200"\} (\d+)/.exec(metrics);
    assert.equal(counted?.[1], '20', metrics.slice(0, 2000));
    assert.match(metrics, /model_distill_reloads_total\{model="tiny",result="ok"\} 2/);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0, s.stderr());
    assert.match(s.stderr(), /all workers drained; exiting/);
  });

  it('usage errors exit 2 and name the problem; a missing run exits 1', () => {
    const none = runCli(['serve']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /'serve' needs config.ini \[uniqid\] or --model-dir DIR/);
    const both = runCli(['serve', config, '--model-dir', modelDir]);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /either config.ini .* or --model-dir, not both/);
    const twice = runCli(['serve', '--model-dir', modelDir, modelDir]);
    assert.equal(twice.status, 2);
    assert.match(twice.stderr, /two --model-dir folders are named "textcnn"; name them with NAME=DIR/);
    const missing = runCli(['serve', config, 'nosuchrun']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no run "nosuchrun"/);
  });

  it('a model that does not load: exit 1 naming it, also with --workers (no restart loop)', () => {
    const nowhere = path.join(tmp, 'no-model');
    const single = runCli(['serve', '--model-dir', nowhere, '--port', '0']);
    assert.equal(single.status, 1);
    assert.match(single.stderr, /no-model/);
    const workers = runCli(['serve', '--model-dir', nowhere, '--port', '0', '--workers', '2']);
    assert.equal(workers.status, 1, workers.stderr);
    assert.match(workers.stderr, /could not start: .*no-model/);
    assert.match(workers.stderr, /before it served; stopping/);
  });
});
