import { tf, initBackend } from '../src';
import { GraphBuilder, GraphSession, graphBinding } from '../src/train/graph';
async function main() {
  await initBackend();
  const module = graphBinding().module!;
  const g = new GraphBuilder(module);
  const ph = (shape: number[]) => g.placeholder('float32', shape);
  const X = ph([128, 784]), W1 = ph([784, 512]), W2 = ph([512, 512]);
  const h1 = g.float('Relu', g.matMul(X, W1));
  const h2 = g.float('Relu', g.matMul(h1, W2));
  const d2 = h2; // stand-in delta
  const dX2 = g.matMul(d2, W2, false, true);
  const dW2 = g.matMul(h1, d2, true, false);
  const dW1 = g.matMul(X, dX2, true, false);
  const s = new GraphSession(module, g);
  const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  const feeds: any = [[X, { dtype: 'float32', shape: [128, 784], data: rnd(128 * 784) }], [W1, { dtype: 'float32', shape: [784, 512], data: rnd(784 * 512) }], [W2, { dtype: 'float32', shape: [512, 512], data: rnd(512 * 512) }]];
  const sumOut = [g.sum(dW1, [0, 1]), g.sum(dW2, [0, 1])];
  for (const [name, fetches] of [['fwd only', [g.sum(h2, [0, 1])]], ['all 5', sumOut]] as const) {
    for (let i = 0; i < 50; i++) s.run(feeds, fetches as any);
    const t0 = performance.now(); const R = 500;
    for (let i = 0; i < R; i++) s.run(feeds, fetches as any);
    const ms = (performance.now() - t0) / R;
    const flop = name === 'fwd only' ? 2 * 128 * (784 * 512 + 512 * 512) : 2 * 128 * (784 * 512 + 512 * 512) + 2 * 128 * 512 * 512 * 2 + 2 * 128 * 784 * 512;
    console.log(name, ms.toFixed(3), 'ms', (flop / ms / 1e6).toFixed(0), 'GFLOP/s (incl feeds)');
  }
}
main();
