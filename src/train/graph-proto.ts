/**
 * The few TensorFlow protocol buffers the graph binding passes as bytes,
 * encoded and decoded by hand so the project needs no protobuf library:
 * `ConfigProto` (a session's threads and graph optimizer settings),
 * `RunOptions` (ask a run for a trace) and the per-op timings of a traced
 * run's `RunMetadata`. Field numbers are those of TensorFlow's
 * config.proto and step_stats.proto; only the fields used here are named.
 */

/** tensorflow.ConfigProto fields (core/protobuf/config.proto). */
const CONFIG_PROTO = {
  intraOpParallelismThreads: 2,
  interOpParallelismThreads: 5,
  usePerSessionThreads: 9,
  graphOptions: 10,
  experimental: 16,
} as const;
/** tensorflow.ConfigProto.Experimental fields. */
const CONFIG_EXPERIMENTAL = { disableThreadSpinning: 9 } as const;
/** tensorflow.GraphOptions fields. */
const GRAPH_OPTIONS = { optimizerOptions: 3 } as const;
/** tensorflow.OptimizerOptions fields; global_jit_level is an enum (ON_1 = 1, OFF = -1). */
const OPTIMIZER_OPTIONS = { globalJitLevel: 5, cpuGlobalJit: 7 } as const;
const GLOBAL_JIT_ON_1 = 1;
/** tensorflow.RunOptions fields; trace_level FULL_TRACE = 3. */
const RUN_OPTIONS = { traceLevel: 1 } as const;
const FULL_TRACE = 3;
/** tensorflow.RunMetadata -> StepStats -> DeviceStepStats -> NodeExecStats fields. */
const RUN_METADATA = { stepStats: 1 } as const;
const STEP_STATS = { devStats: 1 } as const;
const DEVICE_STEP_STATS = { device: 1, nodeStats: 2 } as const;
const NODE_EXEC_STATS = { nodeName: 1, allStartMicros: 2, opStartRelMicros: 3, opEndRelMicros: 4, allEndRelMicros: 5, timelineLabel: 8, threadId: 10 } as const;

/** Wire types of the protobuf encoding. */
const VARINT = 0;
const LENGTH_DELIMITED = 2;

/** How a session runs its graph (TensorFlow's defaults where a field is left out). */
export interface SessionConfig {
  /** Threads one op (a MatMul) may split its work over; 0 = one per core. */
  intraOpThreads?: number;
  /** Threads running independent ops at the same time; 0 = one per core. */
  interOpThreads?: number;
  /** Thread pools of this session's own instead of the process-wide ones. */
  perSessionThreads?: boolean;
  /** Let idle pool threads sleep at once instead of spinning for new work. */
  disableThreadSpinning?: boolean;
  /** Compile clusters of ops with XLA on the CPU (global_jit_level ON_1 + cpu_global_jit). */
  xlaJit?: boolean;
}

class Writer {
  private readonly bytes: number[] = [];

  varint(value: number): this {
    // Negative enums are sent as 64-bit two's complement: ten bytes.
    let rest = value < 0 ? BigInt.asUintN(64, BigInt(value)) : BigInt(value);
    do {
      const low = Number(rest & 0x7fn);
      rest >>= 7n;
      this.bytes.push(rest > 0n ? low | 0x80 : low);
    } while (rest > 0n);
    return this;
  }

  field(number: number, value: number | boolean): this {
    return this.varint((number << 3) | VARINT).varint(typeof value === 'boolean' ? Number(value) : value);
  }

  message(number: number, body: Uint8Array): this {
    this.varint((number << 3) | LENGTH_DELIMITED).varint(body.length);
    this.bytes.push(...body);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A serialized tensorflow.ConfigProto for `TF_SetConfig`. */
export function encodeSessionConfig(config: SessionConfig): Uint8Array {
  const out = new Writer();
  if (config.intraOpThreads !== undefined) out.field(CONFIG_PROTO.intraOpParallelismThreads, config.intraOpThreads);
  if (config.interOpThreads !== undefined) out.field(CONFIG_PROTO.interOpParallelismThreads, config.interOpThreads);
  if (config.perSessionThreads !== undefined) out.field(CONFIG_PROTO.usePerSessionThreads, config.perSessionThreads);
  if (config.xlaJit) {
    const optimizer = new Writer().field(OPTIMIZER_OPTIONS.globalJitLevel, GLOBAL_JIT_ON_1).field(OPTIMIZER_OPTIONS.cpuGlobalJit, true).finish();
    out.message(CONFIG_PROTO.graphOptions, new Writer().message(GRAPH_OPTIONS.optimizerOptions, optimizer).finish());
  }
  if (config.disableThreadSpinning !== undefined) {
    out.message(CONFIG_PROTO.experimental, new Writer().field(CONFIG_EXPERIMENTAL.disableThreadSpinning, config.disableThreadSpinning).finish());
  }
  return out.finish();
}

/** A serialized tensorflow.RunOptions asking for a full trace (RunMetadata.step_stats). */
export function encodeFullTrace(): Uint8Array {
  return new Writer().field(RUN_OPTIONS.traceLevel, FULL_TRACE).finish();
}

/** One op's execution in a traced run. */
export interface OpTiming {
  device: string;
  /** Node name in the (optimized) graph, e.g. `MatMul_12`. */
  name: string;
  /** TensorFlow's label, e.g. `MatMul_12 = _FusedMatMul(...)`: shows the kernel actually run. */
  label: string;
  /** Start, in microseconds since the epoch. */
  startMicros: number;
  /** Time inside the kernel's Compute. */
  opMicros: number;
  /** Start to the end of everything, outputs included. */
  allMicros: number;
  threadId: number;
}

/** Fields of one message: number -> the raw values (numbers for varints, byte ranges for length-delimited). */
function readFields(bytes: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const fields = new Map<number, (number | Uint8Array)[]>();
  let at = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      const byte = bytes[at++];
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const wireType = key & 7;
    const number = Math.floor(key / 8);
    let value: number | Uint8Array;
    if (wireType === VARINT) value = varint();
    else if (wireType === LENGTH_DELIMITED) {
      const length = varint();
      value = bytes.subarray(at, at + length);
      at += length;
    } else if (wireType === 1) {
      value = Number(new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigInt64(0, true));
      at += 8;
    } else if (wireType === 5) {
      value = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getInt32(0, true);
      at += 4;
    } else throw new Error(`protobuf: wire type ${wireType} not supported`);
    const list = fields.get(number) ?? [];
    list.push(value);
    fields.set(number, list);
  }
  return fields;
}

const decoder = new TextDecoder();
const messages = (fields: Map<number, (number | Uint8Array)[]>, number: number): Uint8Array[] => (fields.get(number) ?? []).filter((value): value is Uint8Array => value instanceof Uint8Array);
const text = (fields: Map<number, (number | Uint8Array)[]>, number: number): string => decoder.decode(messages(fields, number)[0] ?? new Uint8Array());
const int = (fields: Map<number, (number | Uint8Array)[]>, number: number): number => {
  const value = fields.get(number)?.[0];
  return typeof value === 'number' ? value : 0;
};

/** Per-op timings from a serialized tensorflow.RunMetadata. */
export function decodeStepStats(metadata: Uint8Array): OpTiming[] {
  const timings: OpTiming[] = [];
  for (const stepStats of messages(readFields(metadata), RUN_METADATA.stepStats)) {
    for (const deviceBytes of messages(readFields(stepStats), STEP_STATS.devStats)) {
      const deviceFields = readFields(deviceBytes);
      const device = text(deviceFields, DEVICE_STEP_STATS.device);
      for (const nodeBytes of messages(deviceFields, DEVICE_STEP_STATS.nodeStats)) {
        const node = readFields(nodeBytes);
        timings.push({
          device,
          name: text(node, NODE_EXEC_STATS.nodeName),
          label: text(node, NODE_EXEC_STATS.timelineLabel),
          startMicros: int(node, NODE_EXEC_STATS.allStartMicros),
          opMicros: int(node, NODE_EXEC_STATS.opEndRelMicros) - int(node, NODE_EXEC_STATS.opStartRelMicros),
          allMicros: int(node, NODE_EXEC_STATS.allEndRelMicros),
          threadId: int(node, NODE_EXEC_STATS.threadId),
        });
      }
    }
  }
  return timings;
}
