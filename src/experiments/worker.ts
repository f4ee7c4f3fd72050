/**
 * A runner worker: a child process (child_process.fork) that trains the runs
 * its parent sends, one at a time, and sends each result back. It never
 * writes the results file (the parent is its only writer) and exits when the
 * parent goes away, so a killed runner leaves no orphans training on.
 */
import { loadRunFunction, type WorkerReply, type WorkerRequest } from './protocol';

function send(message: WorkerReply): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('worker.ts is started by the ablation runner (child_process.fork), not directly.');
  const runExperiment = loadRunFunction();
  process.on('disconnect', () => process.exit(0));
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (message: WorkerRequest) => {
    if (message.type === 'stop') {
      queue = queue.then(() => process.disconnect());
      return;
    }
    queue = queue.then(async () => {
      const { run } = message;
      try {
        const result = await runExperiment(run.experiment, {
          seed: run.seed,
          runDir: message.runDir,
          dataDir: message.dataDir,
          verbose: 0,
          resume: true,
          onEpoch: (epoch, logs) => send({ type: 'epoch', key: run.key, epoch, logs: { ...logs } }),
        });
        send({ type: 'done', key: run.key, result });
      } catch (error) {
        send({ type: 'failed', key: run.key, message: error instanceof Error ? error.message : String(error) });
      }
    });
  });
  send({ type: 'ready', pid: process.pid });
}

main().catch((error: unknown) => {
  process.stderr.write(`mnist-lab worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
