/**
 * Ctrl-C for long-running commands: the first SIGINT asks the work to stop after the
 * current batch (through an AbortSignal, so models and run folders are left consistent);
 * the listener is then removed, so a second Ctrl-C quits at once the usual way.
 */
export async function withInterruptSignal<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => {
    process.stderr.write('model-distill: stopping after the current batch (Ctrl-C again to quit at once)\n');
    process.removeListener('SIGINT', stop);
    controller.abort();
  };
  process.on('SIGINT', stop);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener('SIGINT', stop);
  }
}
