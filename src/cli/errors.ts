/** How the command line shows an error: our own errors as one clear message, others with their stack. */
import { MnistLabError } from '../errors';

export function formatError(error: unknown): string {
  if (error instanceof MnistLabError) return `mnist-lab: ${error.message}`;
  if (error instanceof Error && error.name === 'CommanderError') return error.message;
  return `mnist-lab: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}
