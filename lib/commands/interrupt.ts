/**
 * Ctrl-C (SIGINT) and SIGTERM for long-running commands: the first one asks the work to stop
 * after the current batch (through an AbortSignal, so models and run folders are left
 * consistent: run.json says how the run ended, temp files are removed); the listeners are then
 * removed, so a second signal quits at once the usual way. SIGTERM is what `kill`, systemd,
 * Docker and Kubernetes send, so it must not leave a run marked "running".
 */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export async function withInterruptSignal<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    const again = signal === 'SIGINT' ? 'Ctrl-C' : signal;
    process.stderr.write(`model-distill: ${signal}: stopping after the current batch (${again} again to quit at once)\n`);
    for (const s of STOP_SIGNALS) process.removeListener(s, stop);
    controller.abort();
  };
  for (const s of STOP_SIGNALS) process.on(s, stop);
  try {
    return await work(controller.signal);
  } finally {
    for (const s of STOP_SIGNALS) process.removeListener(s, stop);
  }
}
