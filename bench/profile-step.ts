/**
 * Where an S1-base graph step spends its time: builds the training graph as
 * `fit` does (createModel + planLayers + createGraphTrainer on the 48,000
 * training rows), times `--steps` steps and the 12,000-example validation,
 * then traces one step (RunOptions FULL_TRACE) and prints per-op times.
 *
 *   MNIST_LAB_DATA=../shared/datasets \
 *     node --import tsx bench/profile-step.ts --steps 375 [--intra 2 --inter 1 --xla --no-spin --per-session]
 *
 * `--steps-per-run N` groups steps per session call as `fit` does (default
 * graphStepsPerRun()); `--pieces N` cuts the batch into N pieces (default
 * graphPieces(), one per core; 1 = the whole batch, ops on all cores).
 * Session flags override the trainer's session configuration (src/train/graph-step.ts);
 * `--default-session` uses TensorFlow's defaults, to compare against;
 * `--timeline-min 0` lists every op of the step's timeline; `--top N` the N slowest.
 */
import { parseArgs } from 'node:util';
import { tf } from '../src';
import { createModel } from '../src/model/factory';
import { evaluatePrepared, prepareData } from '../src/train/evaluation';
import { GRAPH_SESSION_CONFIG, createGraphTrainer } from '../src/train/graph-step';
import type { OpTiming, SessionConfig } from '../src/train/graph-proto';
import { planLayers } from '../src/train/layer-plan';
import { SeededRandom } from '../src/util/random';
import { BENCH_NETWORKS, loadBenchData, median } from './common';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '375' },
      rounds: { type: 'string', default: '3' },
      intra: { type: 'string' },
      inter: { type: 'string' },
      xla: { type: 'boolean', default: false },
      'no-spin': { type: 'boolean', default: false },
      'per-session': { type: 'boolean', default: false },
      'default-session': { type: 'boolean', default: false },
      top: { type: 'string', default: '25' },
      'steps-per-run': { type: 'string' },
      pieces: { type: 'string' },
      'timeline-min': { type: 'string', default: '5' },
    },
  });
  // Session flags replace the trainer's own choice (createGraphTrainer: one thread per op when the batch is cut into pieces).
  const session: SessionConfig = values['default-session'] ? {} : { ...GRAPH_SESSION_CONFIG };
  if (values.intra !== undefined) session.intraOpThreads = Number(values.intra);
  if (values.inter !== undefined) session.interOpThreads = Number(values.inter);
  if (values.xla) session.xlaJit = true;
  if (values['no-spin']) session.disableThreadSpinning = true;
  if (values['per-session']) session.perSessionThreads = true;
  const sessionFlags = values['default-session'] || values.intra !== undefined || values.inter !== undefined || values.xla || values['no-spin'] || values['per-session'];

  const network = BENCH_NETWORKS['S1-base'];
  const data = await loadBenchData(network);
  if (data.validationImages === undefined || data.validationLabels === undefined) throw new Error('S1-base has a validation split');
  const model = createModel({ ...network.model, seed: 42 });
  const plan = planLayers(model);
  const owned: tf.Tensor[] = [];
  const train = prepareData(data.trainImages, data.trainLabels, 10, owned);
  const validation = prepareData(data.validationImages, data.validationLabels, 10, owned);
  const optimizer = model.optimizer;
  if (optimizer == null) throw new Error('model is not compiled');
  const trainer = createGraphTrainer(plan, optimizer, train, 42, {
    sessionConfig: sessionFlags ? session : undefined,
    stepsPerRun: values['steps-per-run'] !== undefined ? Number(values['steps-per-run']) : undefined,
    pieces: values.pieces !== undefined ? Number(values.pieces) : undefined,
  });

  const steps = Number(values.steps);
  const batch = network.batchSize;
  const order = new SeededRandom(1).permutation(train.count);
  const rowsOf = (step: number) => {
    const start = (step * batch) % (train.count - batch + 1);
    return order.subarray(start, start + batch);
  };
  console.log(`session config: ${sessionFlags ? JSON.stringify(session) : "the trainer's own"}; ${trainer.stepsPerRun} steps per session call; ${train.count} training rows, batch ${batch}`);
  await trainer.beginEpoch(0);
  // As fit runs them: up to stepsPerRun steps per session call.
  const runSteps = (count: number) => {
    for (let first = 0; first < count; first += trainer.stepsPerRun) {
      trainer.run(Array.from({ length: Math.min(trainer.stepsPerRun, count - first) }, (_, index) => ({ indices: rowsOf(first + index), step: first + index })));
    }
  };
  runSteps(20);
  const stepMs: number[] = [];
  const cpuMs: number[] = [];
  const validationMs: number[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    runSteps(steps);
    stepMs.push((performance.now() - started) / steps);
    const cpu = process.cpuUsage(cpuStarted);
    cpuMs.push((cpu.user + cpu.system) / 1000 / steps);
    const validated = performance.now();
    evaluatePrepared(plan.layers, validation);
    validationMs.push(performance.now() - validated);
  }
  const perStep = median(stepMs);
  console.log(`step: ${perStep.toFixed(3)} ms (median of ${stepMs.map((ms) => ms.toFixed(3)).join(', ')}); ${steps} steps = ${((perStep * steps) / 1000).toFixed(3)} s; CPU ${median(cpuMs).toFixed(3)} ms per step (all threads)`);
  console.log(`validation (12,000, eager): ${median(validationMs).toFixed(1)} ms`);

  // Several traced steps; per op the median over them.
  const traces: OpTiming[][] = [];
  for (let step = 0; step < 9; step++) traces.push(trainer.traceStep(rowsOf(step), step));
  await trainer.endEpoch();
  trainer.dispose();
  printTrace(traces, Number(values.top), Number(values['timeline-min']));
  tf.dispose(owned);
}

function printTrace(traces: OpTiming[][], top: number, minMicros: number): void {
  const byName = new Map<string, { label: string; op: number[]; all: number[] }>();
  const spans: number[] = [];
  const sums: number[] = [];
  for (const trace of traces) {
    const first = Math.min(...trace.map((timing) => timing.startMicros));
    const last = Math.max(...trace.map((timing) => timing.startMicros + timing.allMicros));
    spans.push(last - first);
    sums.push(trace.reduce((sum, timing) => sum + timing.opMicros, 0));
    for (const timing of trace) {
      const entry = byName.get(timing.name) ?? { label: timing.label, op: [], all: [] };
      entry.op.push(timing.opMicros);
      entry.all.push(timing.allMicros);
      byName.set(timing.name, entry);
    }
  }
  const devices = new Set(traces.flatMap((trace) => trace.map((timing) => timing.device)));
  console.log(`traced: ${byName.size} ops on ${[...devices].join(', ')}; first to last op ${median(spans).toFixed(0)} us, sum of op times ${median(sums).toFixed(0)} us (medians of ${traces.length} steps)`);
  const rows = [...byName.entries()].map(([name, entry]) => ({ name, label: entry.label, op: median(entry.op), all: median(entry.all) })).sort((a, b) => b.op - a.op);
  const byKernel = new Map<string, { count: number; op: number }>();
  for (const row of rows) {
    const kernel = /= ([\w:]+)\(/.exec(row.label)?.[1] ?? row.name;
    const entry = byKernel.get(kernel) ?? { count: 0, op: 0 };
    entry.count += 1;
    entry.op += row.op;
    byKernel.set(kernel, entry);
  }
  console.log('\nper kernel type (count, sum of median op us):');
  for (const [kernel, entry] of [...byKernel.entries()].sort((a, b) => b[1].op - a[1].op)) console.log(`  ${kernel.padEnd(36)} ${String(entry.count).padStart(3)} ${entry.op.toFixed(0).padStart(6)}`);
  // The last traced step in start order: what overlaps with what.
  const last = traces[traces.length - 1];
  const origin = Math.min(...last.map((timing) => timing.startMicros));
  console.log(`\ntimeline of one step (start us, op us, thread, label), ops of ${minMicros} us or more:`);
  for (const timing of [...last].sort((a, b) => a.startMicros - b.startMicros).filter((timing) => timing.opMicros >= minMicros)) {
    console.log(`  ${String(timing.startMicros - origin).padStart(5)} ${String(timing.opMicros).padStart(5)} ${String(timing.threadId).padStart(8)}  ${(timing.label || timing.name).slice(0, 110)}`);
  }
  console.log(`\ntop ${top} ops (median op us, all us, label):`);
  for (const row of rows.slice(0, top)) console.log(`  ${row.op.toFixed(0).padStart(5)} ${row.all.toFixed(0).padStart(5)}  ${row.label.slice(0, 140) || row.name}`);
}

void main();
