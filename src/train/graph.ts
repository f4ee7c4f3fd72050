/**
 * TensorFlow graphs from TypeScript, through the small native binding in
 * `native/tf_graph.cc` (built by `npm install` next to tfjs-node's, against
 * the same libtensorflow). A graph is built op by op, then run in a session
 * with one call per training step: TensorFlow's graph optimizer fuses
 * MatMul + BiasAdd + Relu and the step costs one JavaScript -> C++ round
 * trip instead of one per op. This is how Keras runs `model.fit`
 * (`tf.function`), and why the step in graph-step.ts is faster than eager.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeStepStats, encodeFullTrace, encodeSessionConfig, type OpTiming, type SessionConfig } from './graph-proto';

/** Data types the binding passes in and out. */
export type GraphDtype = 'float32' | 'int32' | 'int64';
/** Data types an op attr can name (bool results of comparisons and uint16 random bits are never fetched). */
type AttrDtype = GraphDtype | 'bool' | 'uint16';
type HostArray = Float32Array | Int32Array | BigInt64Array;

/** One output of an op: [op id, output index]. */
export type GraphOutput = readonly [op: number, index: number];

/** An op attribute, tagged with the TensorFlow attr type it sets. */
export type GraphAttr =
  | { kind: 'type'; value: AttrDtype }
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'string'; value: string }
  | { kind: 'shape'; value: number[] }
  | { kind: 'listInt'; value: number[] }
  | { kind: 'tensor'; value: HostTensor };

/** A tensor on the JavaScript side: dtype, shape and a typed array of its values. */
export interface HostTensor {
  dtype: GraphDtype;
  shape: number[];
  data: HostArray;
}

interface NativeGraph {
  addGradients(ys: GraphOutput[], xs: GraphOutput[], dys?: GraphOutput[]): GraphOutput[];
  addOp(type: string, name: string, inputs: (GraphOutput | GraphOutput[])[], attrs: ({ name: string } & GraphAttr)[], controlInputs: number[]): number;
}
type NativeFeed = { output: GraphOutput } & HostTensor;
interface NativeSession {
  run(feeds: NativeFeed[], fetches: GraphOutput[], targets: number[]): HostTensor[];
  runTraced(feeds: NativeFeed[], fetches: GraphOutput[], targets: number[], runOptions: Uint8Array): { outputs: HostTensor[]; metadata: Uint8Array };
  close(): void;
}
interface NativeModule {
  Graph: new () => NativeGraph;
  Session: new (graph: NativeGraph, config?: Uint8Array) => NativeSession;
  tensorflowVersion: string;
  loadOpLibrary(path: string): void;
}

/** Where `npm install` (scripts/setup.mjs) puts the compiled binding, from src/train or dist/train. */
const GRAPH_BINDING_PATH = path.resolve(__dirname, '..', '..', 'native', 'build', 'Release', 'tf_graph.node');

/** Our own kernels (native/fused_ops.cc), compiled next to the binding when the wheel's C++ headers allow. */
const FUSED_OPS_PATH = path.join(path.dirname(GRAPH_BINDING_PATH), 'mnist_lab_fused_ops.so');

let loaded: { module: NativeModule | null; reason: string } | null = null;
let fusedOpsLoaded: { available: boolean; reason: string } | null = null;

/**
 * Whether our own kernels (native/fused_ops.cc) are registered with
 * TensorFlow (loaded on first call): `MnistLabApplyRMSProp` (TensorFlow's
 * RMSprop update in one pass, over partial gradients, in shards),
 * `MnistLabDropoutMask`, `MnistLabAssignRows`, `MnistLabProjectiveTransform`.
 * MNIST_LAB_FUSED_OPS=0 leaves them out, to compare with TensorFlow's own.
 */
export function fusedOps(): { available: boolean; reason: string } {
  if (fusedOpsLoaded !== null) return fusedOpsLoaded;
  const { module, reason } = graphBinding();
  if (module === null) fusedOpsLoaded = { available: false, reason };
  else if (process.env.MNIST_LAB_FUSED_OPS === '0') fusedOpsLoaded = { available: false, reason: 'MNIST_LAB_FUSED_OPS=0' };
  else if (!fs.existsSync(FUSED_OPS_PATH)) fusedOpsLoaded = { available: false, reason: `${path.relative(process.cwd(), FUSED_OPS_PATH)} is not built (\`npm run setup\` builds it where the tensorflow-cpu wheel has its C++ headers)` };
  else {
    try {
      module.loadOpLibrary(FUSED_OPS_PATH);
      fusedOpsLoaded = { available: true, reason: 'ours (native/fused_ops.cc)' };
    } catch (error) {
      fusedOpsLoaded = { available: false, reason: (error as Error).message.split('\n')[0] };
    }
  }
  return fusedOpsLoaded;
}

/**
 * The graph binding, or null with the reason it is unavailable (not built,
 * e.g. no C++ compiler at install time; or built for another TensorFlow).
 * Load tfjs-node first: the binding uses the libtensorflow it loaded.
 */
export function graphBinding(): { module: NativeModule | null; reason: string } {
  if (loaded !== null) return loaded;
  if (!fs.existsSync(GRAPH_BINDING_PATH)) {
    loaded = { module: null, reason: `the graph binding is not built (${path.relative(process.cwd(), GRAPH_BINDING_PATH)} is missing; run \`npm run setup\`)` };
    return loaded;
  }
  try {
    // A native module, loaded at run time from a path only known after install.
    const module = require(GRAPH_BINDING_PATH) as NativeModule;
    loaded = { module, reason: `TensorFlow ${module.tensorflowVersion} graph binding` };
  } catch (error) {
    loaded = { module: null, reason: `the graph binding does not load: ${(error as Error).message.split('\n')[0]}` };
  }
  return loaded;
}

const attr = {
  type: (value: AttrDtype): GraphAttr => ({ kind: 'type', value }),
  int: (value: number): GraphAttr => ({ kind: 'int', value }),
  float: (value: number): GraphAttr => ({ kind: 'float', value }),
  bool: (value: boolean): GraphAttr => ({ kind: 'bool', value }),
  string: (value: string): GraphAttr => ({ kind: 'string', value }),
  shape: (value: number[]): GraphAttr => ({ kind: 'shape', value }),
  listInt: (value: number[]): GraphAttr => ({ kind: 'listInt', value }),
};
export { attr as graphAttr };

/**
 * Builds a graph with TensorFlow's op names and attrs, plus helpers for the
 * handful of ops a Dense/Dropout training step needs. Every method adds ops;
 * nothing runs until a `GraphSession` runs it.
 */
export class GraphBuilder {
  readonly native: NativeGraph;
  private count = 0;

  constructor(module: NativeModule) {
    this.native = new module.Graph();
  }

  /** Add an op; returns its id (for control inputs and targets). */
  op(type: string, inputs: (GraphOutput | GraphOutput[])[], attrs: Record<string, GraphAttr> = {}, controlInputs: number[] = []): number {
    const list = Object.entries(attrs).map(([name, value]) => ({ name, ...value }));
    return this.native.addOp(type, `${type}_${this.count++}`, inputs, list, controlInputs);
  }

  /** Add an op and return its first output. */
  out(type: string, inputs: (GraphOutput | GraphOutput[])[], attrs: Record<string, GraphAttr> = {}, controlInputs: number[] = []): GraphOutput {
    return [this.op(type, inputs, attrs, controlInputs), 0];
  }

  placeholder(dtype: GraphDtype, shape: number[]): GraphOutput {
    return this.out('Placeholder', [], { dtype: attr.type(dtype), shape: attr.shape(shape) });
  }

  constant(value: number, dtype: GraphDtype = 'float32'): GraphOutput {
    const data = dtype === 'float32' ? Float32Array.of(value) : dtype === 'int32' ? Int32Array.of(value) : BigInt64Array.of(BigInt(value));
    return this.out('Const', [], { dtype: attr.type(dtype), value: { kind: 'tensor', value: { dtype, shape: [], data } } });
  }

  /** A resource variable (float32) of a fixed shape. `sharedName` must be unique in the process. */
  variable(shape: number[], sharedName: string): GraphOutput {
    return this.out('VarHandleOp', [], { dtype: attr.type('float32'), shape: attr.shape(shape), container: attr.string(''), shared_name: attr.string(sharedName) });
  }

  read(handle: GraphOutput, controlInputs: number[] = []): GraphOutput {
    return this.out('ReadVariableOp', [handle], { dtype: attr.type('float32') }, controlInputs);
  }

  /** Op that assigns a fed value to `handle`; returns [assign op, the placeholder to feed]. */
  assigner(handle: GraphOutput, shape: number[]): { op: number; value: GraphOutput } {
    const value = this.placeholder('float32', shape);
    return { op: this.op('AssignVariableOp', [handle, value], { dtype: attr.type('float32') }), value };
  }

  matMul(a: GraphOutput, b: GraphOutput, transposeA = false, transposeB = false): GraphOutput {
    return this.out('MatMul', [a, b], { T: attr.type('float32'), transpose_a: attr.bool(transposeA), transpose_b: attr.bool(transposeB) });
  }

  /** An element-wise or unary float op (Relu, Sigmoid, Mul, ReluGrad, ...). */
  float(type: string, ...inputs: GraphOutput[]): GraphOutput {
    return this.out(type, inputs, { T: attr.type('float32') });
  }

  /** Sum over `axes` (int32 constant built here). */
  sum(x: GraphOutput, axes: number[], keepDims = false): GraphOutput {
    const axis = this.out('Const', [], { dtype: attr.type('int32'), value: { kind: 'tensor', value: { dtype: 'int32', shape: [axes.length], data: Int32Array.from(axes) } } });
    return this.out('Sum', [x, axis], { T: attr.type('float32'), Tidx: attr.type('int32'), keep_dims: attr.bool(keepDims) });
  }

  cast(x: GraphOutput, from: AttrDtype, to: GraphDtype): GraphOutput {
    return this.out('Cast', [x], { SrcT: attr.type(from), DstT: attr.type(to) });
  }

  /** An int32 vector constant (shapes, axes). */
  intVector(values: number[]): GraphOutput {
    return this.out('Const', [], { dtype: attr.type('int32'), value: { kind: 'tensor', value: { dtype: 'int32', shape: [values.length], data: Int32Array.from(values) } } });
  }

  /**
   * Inverted dropout's mask for an activation of shape [rows, units], as
   * Keras draws it: keep a unit with probability 1 - rate, scale kept units
   * by 1/(1-rate). The draw is stateless, keyed by the int32 pair fed to
   * `seed`, and needs only the row count, not the activation: it runs
   * while the matrix product that makes the activation does.
   *
   * Why 16 random bits per unit (kept where they are >= round(rate * 65536),
   * so with probability 1 - rate to within 1/65536) and not a float32
   * uniform: the Philox generator makes 128 bits per call, so this is half
   * the generator work of 32-bit floats, about 0.1 ms of an S1-base step
   * (bench/profile-step.ts). Int64 draws are bitcast to uint16, four per draw.
   *
   * Where set-up built our kernels (fusedOps()), the same mask comes, bit
   * for bit, from one op of ours (`ownKernel` forces either way, for tests).
   */
  dropoutMask(rows: GraphOutput, units: number, seed: GraphOutput, rate: number, ownKernel?: boolean): GraphOutput {
    if (this.ownKernel(ownKernel, 'dropout-mask')) return this.maskPiece(this.pack([rows]), 0, units, seed, rate);
    const drawsPerRow = Math.ceil(units / 4);
    const draws = this.out('StatelessRandomUniformFullInt', [this.pack([rows, this.constant(drawsPerRow, 'int32')]), seed], { dtype: attr.type('int64'), T: attr.type('int32'), Tseed: attr.type('int32') });
    const bitsIn3d = this.out('Bitcast', [draws], { T: attr.type('int64'), type: attr.type('uint16') });
    let bits = this.out('Reshape', [bitsIn3d, this.pack([rows, this.constant(drawsPerRow * 4, 'int32')])], { T: attr.type('uint16'), Tshape: attr.type('int32') });
    if (units % 4 !== 0) bits = this.out('Slice', [bits, this.intVector([0, 0]), this.intVector([-1, units])], { T: attr.type('uint16'), Index: attr.type('int32') });
    const keep = this.out('GreaterEqual', [this.cast(bits, 'uint16', 'int32'), this.constant(Math.round(rate * 65536), 'int32')], { T: attr.type('int32') });
    return this.float('Mul', this.cast(keep, 'bool', 'float32'), this.constant(1 / (1 - rate)));
  }

  /**
   * dropoutMask() of a batch of `rows` rows, cut into pieces of
   * `pieceRows` (int32 [pieces]) rows: with our kernel, one op per piece
   * that draws only its own rows; without it, the whole mask, cut.
   */
  dropoutMaskPieces(pieceRows: GraphOutput, pieces: number, rows: GraphOutput, units: number, seed: GraphOutput, rate: number, ownKernel?: boolean): GraphOutput[] {
    if (this.ownKernel(ownKernel, 'dropout-mask')) return Array.from({ length: pieces }, (_, piece) => this.maskPiece(pieceRows, piece, units, seed, rate));
    return this.splitRows(this.dropoutMask(rows, units, seed, rate, false), pieceRows, pieces);
  }

  /**
   * Keras's image transform (ImageProjectiveTransformV3, bilinear, constant
   * fill) of `images` [n, height, width, 1] by `transforms` [n, 8]: our
   * kernel where set-up built it (TensorFlow's per-pixel arithmetic in a
   * plain loop, bit for bit, about a quarter of the time), else TensorFlow's
   * (`ownKernel` forces either way, for tests).
   */
  projectiveTransform(images: GraphOutput, transforms: GraphOutput, outputSize: GraphOutput, fill: GraphOutput, ownKernel?: boolean): GraphOutput {
    if (this.ownKernel(ownKernel, 'image transform')) return this.out('MnistLabProjectiveTransform', [images, transforms, outputSize, fill], { interpolation: attr.string('BILINEAR') });
    return this.out('ImageProjectiveTransformV3', [images, transforms, outputSize, fill], { dtype: attr.type('float32'), interpolation: attr.string('BILINEAR'), fill_mode: attr.string('CONSTANT') });
  }

  /** `value` cut along its first axis into pieces of `pieceRows` (int32 [pieces]) rows; itself for one piece. */
  splitRows(value: GraphOutput, pieceRows: GraphOutput, pieces: number, dtype: GraphDtype = 'float32'): GraphOutput[] {
    if (pieces === 1) return [value];
    const op = this.op('SplitV', [value, pieceRows, this.constant(0, 'int32')], { T: attr.type(dtype), Tlen: attr.type('int32'), num_split: attr.int(pieces) });
    return Array.from({ length: pieces }, (_, index) => [op, index] as const);
  }

  /** Whether to use our kernel: `ownKernel` if given (an error if it is asked for and not built), else whether it is built. */
  private ownKernel(ownKernel: boolean | undefined, what: string): boolean {
    const ops = fusedOps();
    if (ownKernel === true && !ops.available) throw new Error(`our ${what} kernel is not available: ${ops.reason}`);
    return ownKernel ?? ops.available;
  }

  private maskPiece(pieceRows: GraphOutput, piece: number, units: number, seed: GraphOutput, rate: number): GraphOutput {
    return this.out('MnistLabDropoutMask', [pieceRows, seed], { units: attr.int(units), threshold: attr.int(Math.round(rate * 65536)), scale: attr.float(1 / (1 - rate)), piece: attr.int(piece) });
  }

  private pack(values: GraphOutput[]): GraphOutput {
    return this.out('Pack', [values], { T: attr.type('int32'), N: attr.int(values.length), axis: attr.int(0) });
  }

  /**
   * TensorFlow's symbolic gradients (TF_AddGradients): d(sum of ys)/d(each
   * of xs), as new ops in this graph.
   */
  gradients(ys: GraphOutput[], xs: GraphOutput[]): GraphOutput[] {
    return this.native.addGradients(ys, xs);
  }
}

/**
 * Pieces the graph cuts a batch into: one per core (at most 8). The ops of
 * a piece run on one thread and the pieces side by side: the training
 * step's Dense stack (graph-step.ts, graphPieces()) and the augmentation's
 * image transform (augment.ts).
 */
export const GRAPH_PIECES = Math.max(1, Math.min(8, os.availableParallelism()));

/** `count` rows cut into `pieces` near-equal runs (the first pieces get the smaller ones). */
export function pieceSizes(count: number, pieces: number): Int32Array {
  return Int32Array.from({ length: pieces }, (_, index) => Math.floor((count * (index + 1)) / pieces) - Math.floor((count * index) / pieces));
}

/** A session on a finished graph: `run` feeds placeholders, fetches outputs and runs target ops. */
export class GraphSession {
  private readonly native: NativeSession;
  private closed = false;

  constructor(module: NativeModule, graph: GraphBuilder, config?: SessionConfig) {
    this.native = config !== undefined ? new module.Session(graph.native, encodeSessionConfig(config)) : new module.Session(graph.native);
  }

  run(feeds: [GraphOutput, HostTensor][], fetches: GraphOutput[] = [], targets: number[] = []): HostTensor[] {
    return this.native.run(
      feeds.map(([output, tensor]) => ({ output, ...tensor })),
      fetches,
      targets,
    );
  }

  /** The same run, traced: also returns how long each op took (for profiling, bench/profile-step.ts). */
  runTraced(feeds: [GraphOutput, HostTensor][], fetches: GraphOutput[] = [], targets: number[] = []): { outputs: HostTensor[]; timings: OpTiming[] } {
    const { outputs, metadata } = this.native.runTraced(
      feeds.map(([output, tensor]) => ({ output, ...tensor })),
      fetches,
      targets,
      encodeFullTrace(),
    );
    return { outputs, timings: decodeStepStats(metadata) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
  }
}
