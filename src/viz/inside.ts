/**
 * The first-layer weights forming over the epochs, as small multiples, from
 * snapshots (`recordFirstLayerWeights` while fitting, or a run folder's
 * `readWeightSnapshots`). The figures that need the model itself (every
 * layer's activations, probabilities, mistakes) are built in
 * src/evaluate/inside.ts.
 */
import { ConfigError } from '../errors';
import type { WeightSnapshot } from '../train/snapshots';
import type { ImageGridFigure, ImageTile } from './figure';
import { firstLayerWeights } from './figures';

export interface WeightsOverEpochsOptions {
  /** Which hidden units (columns of the figure). */
  units: number[];
  /** Which snapshots by epoch; default up to `maxEpochs` spread over the run, first and last included. */
  epochs?: number[];
  maxEpochs: number;
  title: string;
}

export const DEFAULT_WEIGHTS_OVER_EPOCHS: Omit<WeightsOverEpochsOptions, 'epochs'> = {
  units: [0, 1, 2, 3, 4, 5],
  maxEpochs: 6,
  title: 'First-layer weights forming over the epochs',
};

/** Up to `count` items spread evenly over a list, first and last included. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))]);
}

/**
 * Small multiples: one row per epoch, one column per hidden unit, each tile
 * that unit's 784 weights as a 28x28 image. All tiles share one scale
 * (weights divided by the largest |weight| of the figure), so growing
 * contrast is the weights growing.
 */
export function weightsOverEpochs(snapshots: readonly WeightSnapshot[], options: Partial<WeightsOverEpochsOptions> = {}): ImageGridFigure {
  const settings = { ...DEFAULT_WEIGHTS_OVER_EPOCHS, ...options };
  if (snapshots.length === 0) throw new ConfigError('snapshots', 'no weight snapshots', 'recordFirstLayerWeights(model).snapshots, or readWeightSnapshots(runDir) of a run trained with snapshots');
  const chosen = settings.epochs
    ? settings.epochs.map((epoch) => {
        const found = snapshots.find((snapshot) => snapshot.epoch === epoch);
        if (!found) throw new ConfigError('epochs', `there is no snapshot after epoch ${epoch}`, snapshots.map((snapshot) => snapshot.epoch).join(', '));
        return found;
      })
    : spread([...snapshots].sort((a, b) => a.epoch - b.epoch), settings.maxEpochs);
  const available = chosen[0].shape[1];
  const units = settings.units.filter((unit) => unit < available);
  if (units.length === 0) throw new ConfigError('units', `the snapshots hold units 0-${available - 1}`, `unit numbers below ${available}`);
  const grids = chosen.map((snapshot) => firstLayerWeights({ data: snapshot.data, shape: snapshot.shape }, { units: available, scaling: 'shared' }));
  // One scale over every epoch shown, so later (larger) weights look stronger.
  const limits = chosen.map((snapshot) => snapshot.data.reduce((max, value) => Math.max(max, Math.abs(value)), 0));
  const limit = Math.max(...limits) || 1;
  const tiles: ImageTile[] = [];
  grids.forEach((grid, row) => {
    const rescale = limits[row] / limit;
    for (const unit of units) {
      tiles.push({
        pixels: grid.tiles[unit].pixels.map((line) => line.map((value) => value * rescale)),
        caption: `epoch ${chosen[row].epoch}`,
        detail: `unit ${unit}`,
        mark: 'none',
      });
    }
  });
  return {
    kind: 'imageGrid',
    title: settings.title,
    subtitle: `rows: after epochs ${chosen.map((snapshot) => snapshot.epoch).join(', ')} (0 = random start); pixels = weight / ${limit.toFixed(3)} (largest |weight| shown)`,
    tiles,
    columns: units.length,
    colorScale: 'diverging',
    minValue: -1,
    maxValue: 1,
  };
}
