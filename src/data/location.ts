/**
 * An explicit data location (the `dataDir` option, `--data-dir`, or env
 * `MNIST_LAB_DATA`) is a promise from the user: the data is there. So it is
 * checked, and anything wrong with it (missing, a file, unreadable, without
 * the data set's subfolder) is an error naming the resolved absolute path and
 * where the value came from. It never falls through to another place.
 *
 * A relative `MNIST_LAB_DATA` is relative to the folder the user typed the
 * command in: npm scripts run in the project root but set INIT_CWD to that
 * folder, and the scripts resolve it before a kernel or worker (with yet
 * another working directory) sees it.
 */
import { statSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { MnistLabError } from '../errors';

export const DATA_ENV = 'MNIST_LAB_DATA';

/** Where an explicit data location came from, for messages. */
export interface ExplicitDataLocation {
  /** Absolute folder holding one subfolder per data set. */
  root: string;
  /** The value as given. */
  given: string;
  /** 'MNIST_LAB_DATA', '--data-dir' or 'the dataDir option'. */
  origin: string;
  /** For a relative value: the folder it was resolved against. */
  relativeTo: string | null;
}

let defaultDataDirOrigin = 'the dataDir option';

/** How messages name an explicit dataDir in this process (the command line sets '--data-dir'). */
export function setDataDirOrigin(origin: string): void {
  defaultDataDirOrigin = origin;
}

/** The folder a relative MNIST_LAB_DATA is resolved against: where the command was typed (npm's INIT_CWD), else the working directory. */
export function invocationDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.INIT_CWD && path.isAbsolute(env.INIT_CWD) ? env.INIT_CWD : process.cwd();
}

/** An absolute MNIST_LAB_DATA for `env` (unchanged when unset or absolute). */
export function resolveDataEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[DATA_ENV];
  if (!value) return undefined;
  return path.resolve(invocationDir(env), value);
}

/** The explicit location for these options, or undefined when none was given. */
export function explicitDataLocation(options: { dataDir?: string | null; dataDirOrigin?: string }, env: NodeJS.ProcessEnv = process.env): ExplicitDataLocation | undefined {
  if (options.dataDir === null) return undefined;
  if (options.dataDir) {
    const relative = !path.isAbsolute(options.dataDir);
    return { root: path.resolve(options.dataDir), given: options.dataDir, origin: options.dataDirOrigin ?? defaultDataDirOrigin, relativeTo: relative ? process.cwd() : null };
  }
  const value = env[DATA_ENV];
  if (!value) return undefined;
  return { root: path.resolve(invocationDir(env), value), given: value, origin: DATA_ENV, relativeTo: path.isAbsolute(value) ? null : invocationDir(env) };
}

/** An explicit data location that cannot be used. */
export class DataLocationError extends MnistLabError {
  constructor(
    readonly location: ExplicitDataLocation,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${describeLocation(location)}: ${problem}\n${fix}`);
  }
}

export function describeLocation(location: ExplicitDataLocation): string {
  const given = location.origin === DATA_ENV ? `${DATA_ENV}=${location.given}` : `${location.origin} ${location.given}`;
  if (location.relativeTo === null) return given;
  return `${given} (relative to ${location.relativeTo}, where the command ran)`;
}

function kindOf(target: string): 'missing' | 'file' | 'folder' | 'unreadable' {
  try {
    return statSync(target).isDirectory() ? 'folder' : 'file';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EACCES' ? 'unreadable' : 'missing';
  }
}

function readable(folder: string): NodeJS.ErrnoException | null {
  try {
    readdirSync(folder);
    return null;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

/**
 * Check an explicit location for data set `name` and return the folder that
 * should hold its four files. Throws {@link DataLocationError} for a location
 * that is missing, a file, unreadable or without a `<name>/` subfolder.
 */
export function checkExplicitLocation(location: ExplicitDataLocation, name: string, fileNames: readonly string[]): string {
  const unset = location.origin === DATA_ENV ? `, or unset ${DATA_ENV} to use the project's data/ cache` : '';
  const layout = `a folder holding ${name}/ (and any other data set) with the four files inside`;
  const root = location.root;
  switch (kindOf(root)) {
    case 'missing':
      throw new DataLocationError(location, `${root} does not exist.`, `Point it at ${layout}${unset}.`);
    case 'file':
      throw new DataLocationError(location, `${root} is a file, not a folder.`, `Point it at ${layout}${unset}.`);
    case 'unreadable':
      throw new DataLocationError(location, `${root} cannot be reached (permission denied).`, `Check the permissions of its parent folders (\`ls -ld ${path.dirname(root)}\`)${unset}.`);
    default:
  }
  const denied = readable(root);
  if (denied !== null) {
    throw new DataLocationError(location, `${root} cannot be read (${denied.code}).`, `Check its permissions (\`ls -ld ${root}\`)${unset}.`);
  }
  const folder = path.join(root, name);
  const kind = kindOf(folder);
  if (kind === 'missing' || kind === 'file') {
    const holdsFilesItself = fileNames.some((file) => kindOf(path.join(root, file)) === 'file');
    throw new DataLocationError(
      location,
      `${root} has no ${name}/ subfolder${kind === 'file' ? ` (${folder} is a file)` : ''}.`,
      holdsFilesItself
        ? `It holds the data files itself: move them into ${folder}/ (the location holds one subfolder per data set)${unset}.`
        : `Put the four files of ${name} in ${folder}/${unset}.`,
    );
  }
  const subDenied = kind === 'unreadable' ? ({ code: 'EACCES' } as NodeJS.ErrnoException) : readable(folder);
  if (subDenied !== null) {
    throw new DataLocationError(location, `${folder} cannot be read (${subDenied.code}).`, `Check its permissions (\`ls -ld ${folder}\`)${unset}.`);
  }
  return folder;
}
