/**
 * The HTTP server (lib/serve/), in this process, over real HTTP on 127.0.0.1 with an ephemeral
 * port: every endpoint, the bad-request matrix, the limits (413s naming the limit, 503 +
 * Retry-After from the bounded queue and the timeout), reload under load with zero failed
 * requests (and a failing reload that keeps the old model), and drain. The CLI, signals and
 * --workers are in serve-cli.test.ts.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Classifier } from '../lib/classifier';
import { serveOptions, type ServeLimits } from '../lib/serve/options';
import { startServer, type RunningServer } from '../lib/serve/server';
import type { MicroBatchingOptions } from '../lib/micro-batcher';
import { TINY_LABELS, tinyTexts } from './helpers/tiny-task';
import { trainTinyModelFolder } from './helpers/tiny-model';

interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

async function get(url: string): Promise<Reply & { text: string }> {
  const res = await fetch(url);
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // /metrics is text
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** The error object of a /v1 error reply. */
function errorOf(reply: Reply): { code: string; message: string; limit?: string; value?: number } {
  return reply.json.error as { code: string; message: string; limit?: string; value?: number };
}

describe('model-distill serve (HTTP, in process)', function () {
  let tmp: string;
  let modelDir: string;
  let otherModelDir: string;
  const servers: RunningServer[] = [];
  const { texts } = tinyTexts(64, 41);

  async function start(limits: Partial<ServeLimits> = {}, batching?: MicroBatchingOptions | null): Promise<RunningServer> {
    const server = await startServer(serveOptions([{ name: 'tiny', dir: modelDir }], { port: 0, limits, batching }));
    servers.push(server);
    return server;
  }

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-serve-'));
    modelDir = await trainTinyModelFolder(path.join(tmp, 'tiny'), 'textcnn');
    otherModelDir = await trainTinyModelFolder(path.join(tmp, 'other'), 'textcnn', 12);
  });
  after(async () => {
    for (const s of servers) await s.drain();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('endpoints', () => {
    let server: RunningServer;
    before(async () => {
      server = await start();
    });

    it('POST /v1/predict gives the Classifier\'s probabilities exactly, labels, version and topK', async () => {
      const clf = await Classifier.load(modelDir);
      const expected = clf.predictSync(texts.slice(0, 5), { topK: 2 });
      clf.close();
      const r = await post(`${server.url}/v1/predict`, { texts: texts.slice(0, 5), topK: 2 });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(r.json.model, 'tiny');
      assert.match(String(r.json.version), /^[0-9a-f]{12}$/);
      assert.deepEqual(r.json.labels, TINY_LABELS);
      const predictions = r.json.predictions as { label: string; score: number; probabilities: number[]; top: { label: string; score: number }[] }[];
      assert.equal(predictions.length, 5);
      predictions.forEach((p, i) => {
        assert.equal(p.label, expected[i].label);
        // The JSON numbers are the float32 values written exactly.
        assert.deepEqual(new Float32Array(p.probabilities), expected[i].probabilities);
        assert.equal(Math.fround(p.score), expected[i].score);
        assert.deepEqual(p.top.map((t) => t.label), expected[i].top!.map((t) => t.label));
      });
      const named = await post(`${server.url}/v1/predict`, { texts: ['good'], model: 'tiny' });
      assert.equal(named.status, 200);
      const empty = await post(`${server.url}/v1/predict`, { texts: [] });
      assert.deepEqual(empty.json.predictions, []);
    });

    it('GET /healthz, /readyz (model, version, createdAt) and /metrics (requests, latency, batch sizes, queue, model version)', async () => {
      const health = await get(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(health.json.status, 'ok');
      const ready = await get(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(ready.json.ready, true);
      const [model] = ready.json.models as { name: string; version: string; createdAt: string }[];
      assert.equal(model.name, 'tiny');
      assert.match(model.createdAt, /^\d{4}-\d\d-\d\dT/);
      await post(`${server.url}/v1/predict`, { texts: texts.slice(0, 3) });
      const metrics = await get(`${server.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
      assert.match(metrics.text, /model_distill_requests_total\{route="\/v1\/predict",status="200"\} [1-9]/);
      assert.match(metrics.text, /model_distill_request_duration_seconds_count\{route="\/v1\/predict"\} [1-9]/);
      assert.match(metrics.text, /model_distill_batch_texts_count\{model="tiny"\} [1-9]/);
      assert.match(metrics.text, /model_distill_queue_texts 0/);
      assert.match(metrics.text, new RegExp(`model_distill_model_info\\{model="tiny",version="${model.version}",kind="textcnn"\\} 1`));
      assert.match(metrics.text, /process_cpu_user_seconds_total/);
    });

    it('KServe v2: server and model metadata, health, ready, and infer with a BYTES input ([N] or [N, 1], outputs chosen)', async () => {
      const meta = await get(`${server.url}/v2`);
      assert.equal(meta.json.name, 'model-distill');
      assert.equal((await get(`${server.url}/v2/health/live`)).status, 200);
      assert.equal((await get(`${server.url}/v2/health/ready`)).status, 200);
      const model = await get(`${server.url}/v2/models/tiny`);
      assert.equal(model.status, 200);
      assert.deepEqual(model.json.inputs, [{ name: 'text', datatype: 'BYTES', shape: [-1] }]);
      assert.deepEqual((model.json.parameters as { labels: string[] }).labels, TINY_LABELS);
      const version = (model.json.versions as string[])[0];
      assert.equal((await get(`${server.url}/v2/models/tiny/ready`)).status, 200);
      assert.equal((await get(`${server.url}/v2/models/tiny/versions/${version}/ready`)).status, 200);

      const clf = await Classifier.load(modelDir);
      const expected = clf.predictProbabilitiesSync(texts.slice(0, 3));
      clf.close();
      const flat = await post(`${server.url}/v2/models/tiny/infer`, { id: 'r1', inputs: [{ name: 'text', shape: [3], datatype: 'BYTES', data: texts.slice(0, 3) }] });
      assert.equal(flat.status, 200);
      assert.equal(flat.json.model_name, 'tiny');
      assert.equal(flat.json.model_version, version);
      assert.equal(flat.json.id, 'r1');
      const outputs = flat.json.outputs as { name: string; datatype: string; shape: number[]; data: unknown[] }[];
      assert.deepEqual(outputs.map((o) => [o.name, o.datatype, o.shape]), [['probabilities', 'FP32', [3, 3]], ['label', 'BYTES', [3]], ['score', 'FP32', [3]]]);
      assert.deepEqual(new Float32Array(outputs[0].data as number[]), expected);
      const rows = await post(`${server.url}/v2/models/tiny/versions/1/infer`, {
        inputs: [{ name: 'text', shape: [2, 1], datatype: 'BYTES', data: [[texts[0]], [texts[1]]] }],
        outputs: [{ name: 'label' }],
      });
      assert.equal(rows.status, 200);
      const only = rows.json.outputs as { name: string; data: string[] }[];
      assert.deepEqual(only.map((o) => o.name), ['label']);
      assert.deepEqual(only[0].data, (outputs[1].data as string[]).slice(0, 2));
    });

    it('KServe v2 errors are {"error": "..."}: unknown model or version, datatype, shape, data, outputs, binary extension', async () => {
      const input = { name: 'text', shape: [1], datatype: 'BYTES', data: ['good'] };
      const cases: [string, unknown, number, RegExp, Record<string, string>?][] = [
        ['/v2/models/nope/infer', { inputs: [input] }, 404, /no model named "nope"; this server has: tiny/],
        ['/v2/models/tiny/versions/7/infer', { inputs: [input] }, 404, /no version "7"/],
        ['/v2/models/tiny/infer', { inputs: [{ ...input, datatype: 'FP32' }] }, 400, /Expected datatype "BYTES" for inputs\[0\] \(text\) but received "FP32"/],
        ['/v2/models/tiny/infer', { inputs: [{ ...input, shape: [2] }] }, 400, /shape \[2\] but 1 texts in data/],
        ['/v2/models/tiny/infer', { inputs: [{ ...input, shape: [1, 2] }] }, 400, /Expected shape \[N\] or \[N, 1\]/],
        ['/v2/models/tiny/infer', { inputs: [{ ...input, data: [3] }] }, 400, /Expected a string for inputs\[0\].data\[0\] but received number/],
        ['/v2/models/tiny/infer', { inputs: [input], outputs: [{ name: 'logits' }] }, 400, /for outputs\[0\].name but received "logits"/],
        ['/v2/models/tiny/infer', { inputs: [] }, 400, /body\/inputs must NOT have fewer than 1 items/],
        ['/v2/models/tiny/infer', { inputs: [input] }, 400, /binary tensor extension/, { 'inference-header-content-length': '10' }],
      ];
      for (const [route, body, status, pattern, headers] of cases) {
        const r = await post(`${server.url}${route}`, body, headers);
        assert.equal(r.status, status, `${route} ${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
        assert.equal(typeof r.json.error, 'string', JSON.stringify(r.json));
        assert.match(r.json.error as string, pattern);
      }
      assert.equal((await get(`${server.url}/v2/models/nope`)).status, 404);
    });

    it('the bad-request matrix: each a JSON error with its status and code, limits named; the server keeps serving', async () => {
      const url = `${server.url}/v1/predict`;
      const C = TINY_LABELS.length;
      const cases: { what: string; body: string | Buffer; status: number; code: string; pattern: RegExp; headers?: Record<string, string> }[] = [
        { what: 'malformed JSON', body: '{"texts": [', status: 400, code: 'INVALID_JSON', pattern: /not valid JSON/ },
        { what: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"texts":["'), Buffer.from([0xff, 0xfe]), Buffer.from('"]}')]), status: 400, code: 'INVALID_UTF8', pattern: /not valid UTF-8/ },
        { what: 'an empty body', body: '', status: 400, code: 'INVALID_JSON', pattern: /empty/ },
        { what: 'another content type', body: 'texts=a', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', pattern: /application\/json/, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        { what: 'no texts', body: '{}', status: 400, code: 'INVALID_REQUEST', pattern: /must have required property 'texts'/ },
        { what: 'texts not an array', body: '{"texts":"good"}', status: 400, code: 'INVALID_REQUEST', pattern: /body\/texts must be array/ },
        { what: 'a number among texts', body: '{"texts":["good",5]}', status: 400, code: 'INVALID_REQUEST', pattern: /body\/texts\/1 must be string/ },
        { what: 'null among texts', body: '{"texts":[null]}', status: 400, code: 'INVALID_REQUEST', pattern: /body\/texts\/0 must be string/ },
        { what: 'a JSON array body', body: '["good"]', status: 400, code: 'INVALID_REQUEST', pattern: /body must be object/ },
        { what: 'topK as a string', body: '{"texts":["a"],"topK":"2"}', status: 400, code: 'INVALID_REQUEST', pattern: /body\/topK must be integer/ },
        { what: 'topK 0', body: '{"texts":["a"],"topK":0}', status: 400, code: 'INVALID_REQUEST', pattern: /body\/topK must be >= 1/ },
        { what: 'topK above the classes', body: `{"texts":["a"],"topK":${C + 1}}`, status: 400, code: 'BAD_REQUEST', pattern: new RegExp(`at most ${C} .* for topK but received ${C + 1}`) },
        { what: 'an unknown field', body: '{"texts":["a"],"top_k":2}', status: 400, code: 'INVALID_REQUEST', pattern: /must NOT have additional properties/ },
        { what: 'an unknown model', body: '{"texts":["a"],"model":"gru"}', status: 404, code: 'MODEL_NOT_FOUND', pattern: /no model named "gru"/ },
      ];
      for (const c of cases) {
        const r = await post(url, c.body, c.headers);
        assert.equal(r.status, c.status, `${c.what}: ${JSON.stringify(r.json)}`);
        assert.equal(errorOf(r).code, c.code, c.what);
        assert.match(errorOf(r).message, c.pattern, c.what);
      }
      const missing = await get(`${server.url}/v1/nothing`);
      assert.equal(missing.status, 404);
      assert.equal(errorOf(missing).code, 'NOT_FOUND');
      assert.equal((await post(url, { texts: ['good'] })).status, 200, 'still serving after the matrix');
    });

    it('size limits are 413s naming the limit: maxBodyBytes, maxTexts, maxTextLength', async () => {
      const small = await start({ maxBodyBytes: 2000, maxTexts: 3, maxTextLength: 50 });
      const cases: [unknown, string, number][] = [
        [{ texts: ['x'.repeat(3000)] }, 'maxBodyBytes', 2000],
        [{ texts: ['a', 'b', 'c', 'd'] }, 'maxTexts', 3],
        [{ texts: ['a', 'y'.repeat(51)] }, 'maxTextLength', 50],
      ];
      for (const [body, limit, value] of cases) {
        const r = await post(`${small.url}/v1/predict`, body);
        assert.equal(r.status, 413, `${limit}: ${JSON.stringify(r.json)}`);
        assert.equal(errorOf(r).limit, limit);
        assert.equal(errorOf(r).value, value);
        assert.match(errorOf(r).message, new RegExp(limit));
      }
      const v2 = await post(`${small.url}/v2/models/tiny/infer`, { inputs: [{ name: 't', shape: [4], datatype: 'BYTES', data: ['a', 'b', 'c', 'd'] }] });
      assert.equal(v2.status, 413);
      assert.match(v2.json.error as string, /maxTexts \(3\)/);
      assert.equal((await post(`${small.url}/v1/predict`, { texts: ['a', 'b', 'c'] })).status, 200, 'at the limits is fine');
    });
  });

  it('a full queue answers 503 + Retry-After naming maxQueueTexts; the admitted requests succeed', async () => {
    // A long batching delay keeps the admitted texts queued while the others arrive.
    const server = await start({ maxQueueTexts: 4 }, { maxBatch: 256, maxDelayMicros: 400_000 });
    const replies = await Promise.all(texts.slice(0, 10).map((t) => post(`${server.url}/v1/predict`, { texts: [t] })));
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 503);
    assert.equal(ok.length, 4, replies.map((r) => r.status).join(','));
    assert.equal(refused.length, 6);
    for (const r of refused) {
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal(errorOf(r).code, 'OVERLOADED');
      assert.equal(errorOf(r).limit, 'maxQueueTexts');
    }
    const metrics = await get(`${server.url}/metrics`);
    assert.match(metrics.text, /model_distill_requests_total\{route="\/v1\/predict",status="503"\} 6/);
  });

  it('a prediction past requestTimeoutMs answers 503 TIMEOUT naming the limit', async () => {
    const server = await start({ requestTimeoutMs: 50 }, { maxBatch: 256, maxDelayMicros: 1_000_000 });
    const r = await post(`${server.url}/v1/predict`, { texts: ['good'] });
    assert.equal(r.status, 503);
    assert.equal(errorOf(r).code, 'TIMEOUT');
    assert.equal(errorOf(r).limit, 'requestTimeoutMs');
    assert.equal(r.headers.get('retry-after'), '1');
  });

  it('reload under load: zero failed requests, the new version answers after POST /admin/reload; a corrupt folder keeps the old model and reports why', async () => {
    const live = path.join(tmp, 'live');
    fs.cpSync(modelDir, live, { recursive: true });
    const server = await startServer(serveOptions([{ name: 'live', dir: live }], { port: 0 }));
    servers.push(server);
    const first = ((await get(`${server.url}/readyz`)).json.models as { version: string }[])[0].version;

    let stop = false;
    const failures: string[] = [];
    const versions = new Set<string>();
    let answered = 0;
    const client = async (k: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const r = await post(`${server.url}/v1/predict`, { texts: [texts[(k * 7 + i) % texts.length], texts[i % texts.length]] });
        if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.json)}`);
        else versions.add(r.json.version as string);
        answered++;
      }
    };
    const clients = Array.from({ length: 8 }, (_, k) => client(k));
    const waitFor = async (n: number): Promise<void> => {
      const target = answered + n;
      while (answered < target) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await waitFor(50);
    // Replace the folder's contents (as a new training run would) and reload.
    fs.rmSync(live, { recursive: true });
    fs.cpSync(otherModelDir, live, { recursive: true });
    const reload = await post(`${server.url}/admin/reload`, {});
    assert.equal(reload.status, 200, JSON.stringify(reload.json));
    const [report] = (reload.json as { results: { ok: boolean; version: string; previousVersion: string }[] }).results;
    assert.equal(report.ok, true);
    assert.equal(report.previousVersion, first);
    assert.notEqual(report.version, first);
    await waitFor(50);

    // A corrupt folder: the reload fails, the server keeps the second model and says why.
    fs.writeFileSync(path.join(live, 'weights.safetensors'), 'not a safetensors file');
    const failed = await post(`${server.url}/admin/reload`, {});
    assert.equal(failed.status, 500);
    const [bad] = (failed.json as { results: { ok: boolean; version: string; error: string }[] }).results;
    assert.equal(bad.ok, false);
    assert.equal(bad.version, report.version);
    assert.match(bad.error, /weights\.safetensors/);
    await waitFor(50);
    stop = true;
    await Promise.all(clients);

    assert.deepEqual(failures, [], 'no request failed during the reloads');
    assert.deepEqual([...versions].sort(), [first, report.version].sort(), 'both versions answered');
    const ready = await get(`${server.url}/readyz`);
    assert.equal(ready.status, 200, 'still ready: the old model serves');
    const [model] = ready.json.models as { version: string; lastReloadError: string }[];
    assert.equal(model.version, report.version);
    assert.match(model.lastReloadError, /weights\.safetensors/);
    const metrics = await get(`${server.url}/metrics`);
    assert.match(metrics.text, /model_distill_reloads_total\{model="live",result="ok"\} 1/);
    assert.match(metrics.text, /model_distill_reloads_total\{model="live",result="failed"\} 1/);
  });

  it('drain: requests in flight all succeed, readiness turns false, then the port is closed', async () => {
    const server = await start({}, { maxBatch: 256, maxDelayMicros: 300_000 });
    const inFlight = texts.slice(0, 12).map((t) => post(`${server.url}/v1/predict`, { texts: [t] }));
    // Let the requests reach the server (they then wait 300 ms for their batch).
    while (server.ctx.admission.queuedTexts < 12) await new Promise((resolve) => setTimeout(resolve, 5));
    const drained = server.drain();
    assert.equal(server.ctx.state.draining, true);
    const replies = await Promise.all(inFlight);
    assert.deepEqual(replies.map((r) => r.status), new Array(12).fill(200));
    await drained;
    await assert.rejects(fetch(`${server.url}/healthz`), 'the port no longer accepts connections');
  });
});
