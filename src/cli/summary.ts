/** `mnist-lab summary`: Keras's `model.summary()` for a preset or flags, without training. */
import type { Command } from 'commander';
import { initBackend } from '../backend';
import { createModel } from '../model/factory';
import { summarizeModel, summary } from '../model/summary';
import { addExperimentOptions, experimentFromFlags, type ExperimentFlags } from './train';

export function registerSummary(program: Command): void {
  addExperimentOptions(program.command('summary').description("print a network's layers, output shapes and parameter counts (Keras model.summary())"))
    .option('--json', 'print JSON instead of the table')
    .action(async (flags: ExperimentFlags & { json?: boolean }) => {
      const experiment = experimentFromFlags(flags);
      await initBackend({ quiet: true });
      const model = createModel(experiment.model);
      try {
        console.log(flags.json ? JSON.stringify({ id: experiment.id, ...summarizeModel(model) }, null, 2) : summary(model));
      } finally {
        model.optimizer?.dispose();
        model.dispose();
      }
    });
}
