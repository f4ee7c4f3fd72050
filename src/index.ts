/**
 * mnist-lab's one public entry: notebooks, the CLI and tests import from here.
 */
import { assertBuildIsFresh } from './util/build';

assertBuildIsFresh(__dirname);

export { tf, initBackend, ensureBackendSync, backendInfo, BACKEND_NAMES } from './backend';
export type { BackendName, BackendInfo, BackendOptions } from './backend';
export * from './errors';
export * from './data';
export { labInfo, formatLabInfo } from './info';
export type { LabInfo } from './info';
export { writeFileAtomic, writeJsonAtomic, PROJECT_ROOT } from './util/fs';
