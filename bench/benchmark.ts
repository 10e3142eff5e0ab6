/**
 * `npm run bench [-- <suite>...]`: runs benchmark suites, prints a table per
 * suite and writes bench/results/<suite>.json (machine, date, rows).
 *
 * A suite is one file bench/<name>.ts exporting `suite: Suite`; add it to the
 * registry below with one line. With no name given, every suite runs.
 */
import { formatTable, machineInfo, writeResult, type Suite } from './harness';

const registry: Record<string, () => Promise<Suite>> = {
  tokenizer: async () => (await import('./tokenizer')).suite,
  train: async () => (await import('./train')).suite,
  predict: async () => (await import('./predict')).suite,
  'label-noise': async () => (await import('./label-noise')).suite,
  teacher: async () => (await import('./teacher')).suite,
  distributed: async () => (await import('./distributed')).suite,
  serve: async () => (await import('./serve')).suite,
};

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`Usage: npm run bench [-- <suite>... [--flag[=value]...]]\nSuites: ${Object.keys(registry).join(', ')}\n`);
    return 0;
  }
  // `--flag` / `--flag=value` go to every suite named; the rest are suite names.
  const flags = argv.filter((a) => a.startsWith('--'));
  argv = argv.filter((a) => !a.startsWith('--'));
  const unknown = argv.filter((name) => !(name in registry));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown suite ${unknown.join(', ')} (suites: ${Object.keys(registry).join(', ')})\n`);
    return 2;
  }
  const names = argv.length > 0 ? argv : Object.keys(registry);
  for (const name of names) {
    const suite = await registry[name]();
    const machine = machineInfo();
    process.stdout.write(`\n== ${suite.name}: ${suite.description}\n`);
    process.stdout.write(`   ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, SIMD ${machine.simdLevel}, load ${machine.loadAverage1m}\n\n`);
    const started = new Date();
    const result = await suite.run(flags);
    if (result.skipped) {
      process.stdout.write(`skipped: ${result.skipped}\n`);
      continue;
    }
    process.stdout.write(formatTable(result.columns, result.rows) + '\n');
    for (const note of result.notes ?? []) process.stdout.write(`\n${note}`);
    const file = writeResult(suite.name, {
      suite: suite.name,
      description: suite.description,
      date: started.toISOString(),
      durationSeconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
      machine: { ...machine, loadAverage1mAfter: machineInfo().loadAverage1m },
      columns: result.columns,
      rows: result.rows,
      notes: result.notes ?? [],
      ...result.extra,
    });
    process.stdout.write(`\n\nwritten: ${file}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
);
