// Types of bench-report.mjs for the TypeScript tests (test/bench.test.ts).
export interface FlopPerExample {
  forward: number;
  training: number;
}
export interface BenchRun {
  config: string;
  engine: string;
  error?: string;
  reduced?: boolean;
  trainSamples: number;
  validationSamples?: number;
  medianEpochSeconds: number;
  samplesPerSecond: number;
  secondsPerEpoch?: number;
  flopPerEpoch?: number;
  floorSeconds?: number;
  ratioToFloor?: number;
  ratioToJax?: number;
}
export const PEER_ENGINES: Record<string, string[]>;
export const BENCH_REQUIREMENTS: string;
export function epochFlop(perExample: FlopPerExample, trainSamples: number, validationSamples: number): number;
export function bestGemmGflops(gemms: ({ bestGflops: number } | null | undefined)[]): number | null;
export function addFloorAndPeerRatios<T extends BenchRun>(runs: T[], flopPerExample: Record<string, FlopPerExample>, gemmGflops: number | null): T[];
export function readPins(file?: string): Map<string, string>;
export function ensureJaxPeer(python: string, log: (line: string) => void): string | null;
