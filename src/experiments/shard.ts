/**
 * Shards: split one grid over several machines (a Slurm job array, a
 * Kubernetes Indexed Job). Every shard computes the same assignment from the
 * grid alone, so shards never talk to each other; each writes its own results
 * file and `mnist-lab report` merges them.
 */
import { ConfigError } from '../errors';
import { relativeRunCost } from './cost';
import type { GridRun } from './grid';

/** One of n shards of a grid (`--shard i/n`). */
export interface Shard {
  /** 0-based index of this shard (Slurm `$SLURM_ARRAY_TASK_ID` with `--array=0-<n-1>`, Kubernetes `$JOB_COMPLETION_INDEX`). */
  index: number;
  /** Number of shards the grid is split into. */
  count: number;
}

/** Parse `i/n` (0-based i). */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match) throw new ConfigError('--shard', `'${text}' is not of the form i/n`, 'i/n with 0 <= i < n, e.g. 0/4 (i is 0-based, like $SLURM_ARRAY_TASK_ID with --array=0-3)');
  const shard = { index: Number(match[1]), count: Number(match[2]) };
  if (shard.count < 1 || shard.index >= shard.count) {
    throw new ConfigError('--shard', `index ${shard.index} is outside 0..${shard.count - 1}`, `0/${shard.count} ... ${Math.max(shard.count - 1, 0)}/${shard.count}`);
  }
  return shard;
}

/** File-name-safe tag of a shard, e.g. `shard-1-of-4`. */
export function shardTag(shard: Shard): string {
  return `shard-${shard.index}-of-${shard.count}`;
}

/**
 * Assign every run to a shard: longest run first onto the least loaded
 * shard (by a backend-free cost estimate), ties broken by run key, so the
 * result depends only on the grid and shards finish at about the same time.
 */
function assignShards(runs: readonly GridRun[], count: number): number[][] {
  const order = runs
    .map((run, position) => ({ position, cost: relativeRunCost(run.experiment), key: run.key }))
    .sort((a, b) => b.cost - a.cost || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const members: number[][] = Array.from({ length: count }, () => []);
  for (const entry of order) {
    let target = 0;
    for (let shard = 1; shard < count; shard++) if (load[shard] < load[target]) target = shard;
    load[target] += entry.cost;
    members[target].push(entry.position);
  }
  return members.map((positions) => positions.sort((a, b) => a - b));
}

/** The runs of one shard, in grid order. */
export function selectShard(runs: readonly GridRun[], shard: Shard): GridRun[] {
  return assignShards(runs, shard.count)[shard.index].map((position) => runs[position]);
}
