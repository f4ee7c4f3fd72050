/**
 * The `mnist-lab` command line. Each command lives in its own file and
 * registers itself here; every command calls the same `src` functions the
 * notebooks use.
 */
import { Command } from 'commander';
import { registerInfo } from './info';
import { registerTrain } from './train';
import { registerSummary } from './summary';
import { registerEvaluate } from './evaluate';
import { registerPredict } from './predict';
import { registerParams } from './params';
import { registerShow } from './show';
import { registerPlot } from './plot';
import { registerAblate } from './ablate';
import { registerReport } from './report';
import { registerDraw } from './draw';
import { registerInside } from './inside';
import { registerData } from './data';
import { setDataDirOrigin } from '../data/location';
import { registerDataset } from './dataset';

export function buildProgram(): Command {
  const program = new Command('mnist-lab')
    .description('A TypeScript teaching lab for neural networks on MNIST (Keras-style, tfjs-node)')
    .showHelpAfterError();
  registerInfo(program);
  registerTrain(program);
  registerSummary(program);
  registerEvaluate(program);
  registerPredict(program);
  registerParams(program);
  registerShow(program);
  registerPlot(program);
  registerAblate(program);
  registerReport(program);
  registerDraw(program);
  registerInside(program);
  registerData(program);
  program.option('--verbose', 'on an error, print the full stack trace (also: env DEBUG=1)');
  registerDataset(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  setDataDirOrigin('--data-dir');
  await buildProgram().parseAsync(argv as string[]);
}
