/**
 * The `mnist-lab` command line. Each command lives in its own file and
 * registers itself here; every command calls the same `src` functions the
 * notebooks use.
 */
import { Command } from 'commander';
import { registerInfo } from './info';

export function buildProgram(): Command {
  const program = new Command('mnist-lab')
    .description('A TypeScript teaching lab for neural networks on MNIST (Keras-style, tfjs-node)')
    .showHelpAfterError();
  registerInfo(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  await buildProgram().parseAsync(argv as string[]);
}
