/**
 * Ctrl-C (SIGINT) and `kill <pid>` (SIGTERM) during a long command: say what
 * was kept and how to continue, then exit with the shell's 128 + signal code.
 * `process.exit` runs the exit hooks, so the run folder's lock is released.
 * SIGHUP is left alone: a run started with `nohup` must survive its shell.
 */
const SIGNAL_CODES = { SIGINT: 2, SIGTERM: 15 } as const;

export function stopOnSignals(message: () => string): void {
  for (const [signal, code] of Object.entries(SIGNAL_CODES)) {
    process.once(signal as NodeJS.Signals, () => {
      process.stderr.write(`\nmnist-lab: ${signal === 'SIGINT' ? 'interrupted' : 'stopped (SIGTERM)'}; ${message()}\n`);
      process.exit(128 + code);
    });
  }
}
