/**
 * How the command line shows an error: one or two lines that name the path,
 * what was being done and what to do; a stack trace only with `--verbose` or
 * `DEBUG` set (for a bug report).
 */
import { MnistLabError } from '../errors';
import { describeFsError } from '../util/fs-errors';

/** `--verbose` on the command line or a non-empty DEBUG (other than 0/false) in the environment. */
export function wantsStack(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  const debug = env.DEBUG;
  return argv.includes('--verbose') || (debug !== undefined && debug !== '' && debug !== '0' && debug !== 'false');
}

function stackOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error && parts.length < 5) {
    parts.push(current.stack ?? String(current));
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join('\ncaused by: ');
}

export function formatError(error: unknown, options: { verbose?: boolean } = {}): string {
  const verbose = options.verbose ?? wantsStack();
  if (error instanceof Error && error.name === 'CommanderError') return error.message;
  const explained = describeFsError(error);
  if (explained instanceof MnistLabError) return `mnist-lab: ${explained.message}` + (verbose ? `\n${stackOf(explained)}` : '');
  const message = error instanceof Error ? error.message : String(error);
  return (
    `mnist-lab: unexpected error: ${message}` +
    (verbose ? `\n${stackOf(error)}` : '\nRun the command again with --verbose (or DEBUG=1) for the details, and include them when you report it.')
  );
}
