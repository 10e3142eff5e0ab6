/**
 * `model-distill experiment`: on a tiny generated ad-claims set with tiny
 * models, runExperiment writes experiment.md/.svg/.png, the PNG is the SVG
 * rendered, --json prints one well-formed line per row, and
 * settings that cannot run say why instead of failing the whole experiment.
 * Also: the chart PNG is the SVG rendered by resvg with a real font.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { writeAdClaimsDataset } from '../lib/demo/ad-claims';
import { layoutBarChart, renderSvg } from '../lib/experiment/chart';
import { CHART_FONT_CANDIDATES, CHART_FONT_ENV, findChartFont, renderChartPng } from '../lib/experiment/render-png';
import { loadConfig } from '../lib/config';
import { configToIni, runExperiment, settingOverrides, STUDENT_SETTINGS } from '../lib/experiment/run';

const CLI = path.resolve(__dirname, '..', 'lib', 'cli.ts');

/** Width and height from a PNG's IHDR, after checking the signature and that IHDR comes first. */
function pngSize(buf: Buffer): { width: number; height: number } {
  assert.deepStrictEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.strictEqual(buf.subarray(12, 16).toString('ascii'), 'IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

const SETTINGS = ['alone', 'distilled', 'distilled+pool', 'teacher'];
const COLORS = ['#9e9e9e', '#4e79a7', '#f28e2b', '#59a14f'];
const chartOf = (bars: { group: string; series: string; value: number | null }[]) =>
  layoutBarChart(bars, { title: 'eval accuracy', series: SETTINGS.map((name, i) => ({ name, color: COLORS[i] })) });

describe('experiment: the chart PNG (resvg, a real font)', () => {
  const font = findChartFont();
  const svg = renderSvg(chartOf([
    { group: 'textcnn', series: 'alone', value: 0.9 },
    { group: 'textcnn', series: 'distilled', value: 0.95 },
    { group: 'teacher', series: 'teacher', value: null },
  ]));

  it('renders the SVG at 2x, with its text drawn in a real font', function () {
    if (font === null) {
      // .ci/run installs fonts-dejavu-core; elsewhere set MODEL_DISTILL_CHART_FONT.
      console.log(`    (skipped: no font file found among ${CHART_FONT_CANDIDATES.length} usual locations and ${CHART_FONT_ENV} unset)`);
      this.skip();
    }
    const chart = renderChartPng(svg);
    assert.strictEqual(chart.font, font);
    assert.strictEqual(chart.textRendered, true);
    assert.deepStrictEqual(pngSize(chart.png), { width: 1280, height: 720 });
    // The same chart without its texts differs: the labels are really drawn.
    const bare = renderChartPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''));
    assert.ok(!chart.png.equals(bare.png), 'text changes the pixels');
    assert.deepStrictEqual(pngSize(renderChartPng(svg, { scale: 1 }).png), { width: 640, height: 360 });
  });

  it(`BAD CALL – ${CHART_FONT_ENV} naming a missing file is an error naming it`, () => {
    assert.throws(() => findChartFont({ [CHART_FONT_ENV]: '/no/such/font.ttf' }), /MODEL_DISTILL_CHART_FONT=\/no\/such\/font\.ttf: no such font file/);
    assert.strictEqual(findChartFont({}, ['/no/such/a.ttf', '/no/such/b.ttf']), null);
  });
});

describe('experiment: runExperiment on a tiny ad-claims set', function () {
  this.timeout(120000);
  let tmp: string;
  let config: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-experiment-'));
    const ds = writeAdClaimsDataset(path.join(tmp, 'demo'), {
      seed: 5,
      train: 240,
      eval: 80,
      unlabeled: 300,
      config: {
        embedding_dim: 16, filters: 8, gru_hidden: 16, epochs: 1, max_length: 32, threads: 2,
        teacher: { kind: 'native', layers: 1, hidden: 16, heads: 2, intermediate: 32, epochs: 1 },
      },
    });
    config = ds.files.config;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes experiment.md, .svg and a valid .png; each row has scores or says why not', async () => {
    const result = await runExperiment(config, 'exp');
    assert.strictEqual(result.runDir, path.join(tmp, 'demo', 'runs', 'exp'));
    assert.deepStrictEqual(result.failures, []);
    // 3 settings x 2 students + the teacher, students in config order.
    assert.deepStrictEqual(
      result.rows.map((r) => `${r.model}/${r.setting}`),
      [...STUDENT_SETTINGS.map((s) => `textcnn/${s}`), ...STUDENT_SETTINGS.map((s) => `gru/${s}`), 'teacher/teacher'],
    );
    for (const r of result.rows) {
      if (r.eval === null) {
        assert.ok(r.note && r.note.length > 0, `${r.model}/${r.setting} has neither scores nor a reason`);
      } else {
        assert.ok(r.eval.accuracy >= 0 && r.eval.accuracy <= 1 && r.eval.macroF1 >= 0 && r.eval.macroF1 <= 1);
      }
    }
    const alone = result.rows.filter((r) => r.setting === 'alone');
    assert.ok(alone.every((r) => r.eval !== null && r.eval.n === 80), 'students alone always run and are scored on all 80 eval rows');

    const md = fs.readFileSync(result.files.markdown, 'utf8');
    assert.ok(md.includes('| model | setting | eval accuracy | eval macro-F1 | note |'));
    assert.ok(md.includes(`| textcnn | alone | ${alone[0].eval!.accuracy.toFixed(4)} |`), md);
    const svg = fs.readFileSync(result.files.svg, 'utf8');
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') && svg.trimEnd().endsWith('</svg>'));
    assert.ok(svg.includes(alone[0].eval!.accuracy.toFixed(3)), 'the SVG labels the bars with their values');

    // The SVG and the PNG are exactly the chart the rows describe (the PNG: that SVG rendered at 2x).
    const layout = chartOf(result.rows.map((r) => ({ group: r.model, series: r.setting, value: r.eval?.accuracy ?? null })));
    assert.strictEqual(svg, renderSvg(layout));
    assert.deepStrictEqual(pngSize(fs.readFileSync(result.files.png)), { width: 2 * layout.width, height: 2 * layout.height });
    assert.ok(fs.readFileSync(result.files.png).equals(renderChartPng(svg).png), 'PNG = the SVG rendered');

    // One teacher for both distilled settings: trained by the first in <run>/teacher, reused by the
    // second, and every text scored once (the second setting finds the train texts in the cache).
    const setting = (folder: string) => JSON.parse(fs.readFileSync(path.join(result.runDir, 'experiment', folder, 'exp', 'run.json'), 'utf8'));
    const distilled = setting('distilled');
    const pooled = setting('distilled-pool');
    assert.strictEqual(distilled.teacher.dir, path.join(result.runDir, 'teacher'));
    assert.strictEqual(distilled.teacher.reused, false);
    assert.strictEqual(pooled.teacher.reused, true);
    assert.strictEqual(pooled.teacher.weightsSha256, distilled.teacher.weightsSha256);
    assert.strictEqual(pooled.softLabels.train.scored, 0);
    assert.ok(!fs.existsSync(path.join(result.runDir, 'experiment', 'distilled', 'exp', 'teacher')), 'no per-setting teacher');
    const teacherRow = result.rows.find((r) => r.setting === 'teacher')!;
    assert.strictEqual(teacherRow.dir, path.join(result.runDir, 'teacher'));
    // A second experiment reuses that teacher too (as it would one an earlier `train` left there).
    const again = await runExperiment(config, 'exp', { settings: ['distilled'] });
    assert.deepStrictEqual(again.failures, []);
    assert.strictEqual(setting('distilled').teacher.reused, true);

    // The derived configs stay beside the settings, with absolute paths.
    for (const f of ['alone.ini', 'distilled.ini', 'distilled-pool.ini']) assert.ok(fs.existsSync(path.join(result.runDir, 'experiment', f)), f);
    assert.ok(fs.readFileSync(path.join(result.runDir, 'experiment', 'alone.ini'), 'utf8').includes(`train = ${path.join(tmp, 'demo', 'train.tsv')}`));
  });

  it('CLI --json: one well-formed line per row; --data scores the given file', () => {
    const evalFile = path.join(tmp, 'demo', 'eval.tsv');
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', CLI, 'experiment', config, 'cli', '--json', '--data', evalFile], { encoding: 'utf8' });
    assert.strictEqual(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.strictEqual(lines.length, 7, r.stdout);
    const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const row of rows) {
      assert.ok(['textcnn', 'gru', 'teacher'].includes(row.model as string), JSON.stringify(row));
      assert.ok(['alone', 'distilled', 'distilled+pool', 'teacher'].includes(row.setting as string), JSON.stringify(row));
      assert.strictEqual(row.setting === 'teacher', row.model === 'teacher');
      if (row.accuracy === null) {
        assert.strictEqual(row.macroF1, null);
        assert.strictEqual(typeof row.note, 'string');
      } else {
        assert.strictEqual(typeof row.accuracy, 'number');
        assert.strictEqual(typeof row.macroF1, 'number');
        // --data is the eval file itself here, so both scores agree.
        if (row.model !== 'teacher' || row.dataAccuracy !== undefined) {
          assert.strictEqual(row.dataAccuracy, row.accuracy);
          assert.strictEqual(row.dataMacroF1, row.macroF1);
        }
      }
    }
  });

  it('a config without a teacher: the distilled settings and the teacher row say so', async () => {
    const text = fs.readFileSync(config, 'utf8').replace('kind = native', 'kind = none');
    const noTeacher = path.join(tmp, 'demo', 'no-teacher.ini');
    fs.writeFileSync(noTeacher, text);
    const result = await runExperiment(noTeacher, 'noteacher', { settings: ['alone', 'distilled'] });
    const distilled = result.rows.filter((r) => r.setting !== 'alone');
    assert.strictEqual(distilled.length, 3);
    for (const r of distilled) {
      assert.strictEqual(r.eval, null);
      assert.match(r.note ?? '', /no teacher: \[teacher\] kind = none/);
    }
  });
});

describe('experiment: derived configs', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-derived-'));
    fs.writeFileSync(path.join(tmp, 'train.tsv'), '好\tpos\n差\tneg\n');
    fs.writeFileSync(path.join(tmp, 'eval.tsv'), '好\tpos\n');
    fs.writeFileSync(path.join(tmp, 'pool.txt'), '一般\n');
    fs.writeFileSync(path.join(tmp, 'teacher.onnx'), 'not read: the config only checks that it exists');
    fs.writeFileSync(path.join(tmp, 'vocab.txt'), '[PAD]\n[UNK]\n');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Loads each setting's derived config of the given [teacher] lines, as the experiment writes it. */
  function derivedConfigs(name: string, teacher: string[]) {
    const file = path.join(tmp, `${name}.ini`);
    fs.writeFileSync(file, ['[data]', 'train = train.tsv', 'eval = eval.tsv', 'unlabeled = pool.txt', '[model]', 'dir = runs', '[teacher]', ...teacher, ''].join('\n'));
    const config = loadConfig(file);
    return STUDENT_SETTINGS.map((setting) => {
      const derived = path.join(tmp, `${name}-${setting}.ini`);
      fs.writeFileSync(derived, configToIni(config, settingOverrides(setting, path.join(tmp, 'runs', setting))));
      return { setting, config: loadConfig(derived) };
    });
  }

  it('alone drops the keys that need a teacher (onnx path/vocab, pretrain = mlm); the distilled settings keep them', () => {
    for (const { setting, config } of derivedConfigs('onnx', ['kind = onnx', 'path = teacher.onnx'])) {
      if (setting === 'alone') {
        assert.equal(config.teacher.kind, 'none');
        assert.equal(config.teacher.path, null);
      } else {
        assert.equal(config.teacher.kind, 'onnx');
        assert.equal(config.teacher.path, path.join(tmp, 'teacher.onnx'));
      }
    }
    for (const { setting, config } of derivedConfigs('mlm', ['kind = native', 'pretrain = mlm'])) {
      assert.equal(config.teacher.pretrain, setting === 'alone' ? 'none' : 'mlm', setting);
    }
  });
});
