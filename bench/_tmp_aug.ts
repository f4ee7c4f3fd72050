import * as tf from '@tensorflow/tfjs-node';
import { applyTransforms, augmentTransforms } from '../src/train/augment';
const n = 128;
const imgs = tf.randomUniform([n, 28, 28], 0, 255);
const cfg = { rotationRange: 10, widthShiftRange: 0.1, heightShiftRange: 0.1, zoomRange: 0.1 } as any;
const t = augmentTransforms(cfg, n, 28, 28, { seed: 1, epoch: 0, step: 0 });
for (let i = 0; i < 50; i++) applyTransforms(imgs, t).dispose();
const c0 = process.cpuUsage(); const t0 = performance.now();
const R = 1000;
for (let i = 0; i < R; i++) { const o = applyTransforms(imgs, t); o.dataSync(); o.dispose(); }
const ms = (performance.now() - t0) / R; const cpu = process.cpuUsage(c0);
console.log('transform wall ms', ms.toFixed(3), 'cpu ms', ((cpu.user + cpu.system) / 1000 / R).toFixed(3));
const m = tf.randomUniform([n, 784]); const w = tf.randomUniform([784, 512]);
const t1 = performance.now();
for (let i = 0; i < R; i++) { const o = tf.matMul(m, w); o.dataSync(); o.dispose(); }
console.log('matmul 128x784x512 ms', ((performance.now() - t1) / R).toFixed(3));
