/**
 * File-system faults as messages: a full disk, a missing permission, a
 * read-only mount, a file where a folder belongs (or the reverse). Node's
 * own errors say `ENOSPC: no space left on device, write` and often no path;
 * {@link describeFsError} turns them into one or two lines naming the path,
 * what was being done and what to do about it.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { MnistLabError } from '../errors';

/** Error codes this module explains; anything else stays an unexpected error. */
export const EXPLAINED_FS_CODES = ['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOENT', 'EMFILE', 'ENAMETOOLONG'] as const;

/** A file-system operation failed; `code` is Node's (ENOSPC, EACCES, ...). */
export class FileSystemError extends MnistLabError {
  constructor(
    readonly path: string,
    readonly operation: string,
    readonly code: string,
    readonly reason: string,
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot ${operation} ${path}: ${reason}.\n${fix}`);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export interface FsErrorContext {
  /** The path being worked on (Node's error path is used when it has one and this is omitted). */
  path?: string;
  /** What was being done, as a verb phrase: 'write the checkpoint', 'read'. */
  operation?: string;
  /** What to do, replacing the default advice for the error code. */
  fix?: string;
}

export function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

/** The deepest existing ancestor of `file` that is not a folder (the culprit of an ENOTDIR), if any. */
function fileInTheWay(file: string): string | undefined {
  let current = path.resolve(file);
  for (;;) {
    const parent = path.dirname(current);
    try {
      if (!statSync(current).isDirectory()) return current;
    } catch {
      // does not exist: look further up
    }
    if (parent === current) return undefined;
    current = parent;
  }
}

const OPERATION_OF_SYSCALL: Record<string, string> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create the folder',
  rename: 'rename',
  unlink: 'delete',
  rmdir: 'delete the folder',
  rm: 'delete',
  scandir: 'list the folder',
  stat: 'look at',
  lstat: 'look at',
  access: 'access',
  copyfile: 'copy',
  link: 'link',
  fsync: 'flush',
};

/**
 * A {@link FileSystemError} for a Node file-system error; other errors are
 * returned unchanged, so `throw describeFsError(error, …)` is safe in any catch.
 */
export function describeFsError(error: unknown, context: FsErrorContext = {}): unknown {
  if (!isErrnoException(error) || error instanceof MnistLabError) return error;
  const code = error.code ?? '';
  if (!(EXPLAINED_FS_CODES as readonly string[]).includes(code)) return error;
  const target = path.resolve(context.path ?? error.path ?? '.');
  const operation = context.operation ?? OPERATION_OF_SYSCALL[error.syscall ?? ''] ?? 'use';
  const folderOf = (file: string) => path.dirname(file);
  let reason: string;
  let fix: string;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      reason = code === 'ENOSPC' ? 'the disk is full (ENOSPC)' : 'the disk quota is used up (EDQUOT)';
      fix = 'Free some space on that disk (`df -h` shows it) or choose a folder on another disk, then run the command again.';
      break;
    case 'EACCES':
    case 'EPERM':
      reason = `permission denied (${code})`;
      fix = `Check the owner and permissions (\`ls -ld ${folderOf(target)}\`), or choose a location you can ${/read|open|look|list/.test(operation) ? 'read' : 'write to'}.`;
      break;
    case 'EROFS':
      reason = 'the file system is read-only (EROFS)';
      fix = 'Choose a folder on a writable disk.';
      break;
    case 'ENOTDIR': {
      const culprit = fileInTheWay(target);
      reason = culprit !== undefined ? `${culprit} is a file, where a folder is expected (ENOTDIR)` : 'part of the path is a file, where a folder is expected (ENOTDIR)';
      fix = culprit !== undefined ? `Rename or move ${culprit}, or choose another path.` : 'Choose another path.';
      break;
    }
    case 'EISDIR':
      reason = 'it is a folder, where a file is expected (EISDIR)';
      fix = 'Give the path of a file inside it, or choose another path.';
      break;
    case 'EEXIST': {
      const culprit = fileInTheWay(target);
      reason =
        culprit === target
          ? 'it is a file, where a folder is expected (EEXIST)'
          : culprit !== undefined
            ? `${culprit} is a file, where a folder is expected (EEXIST)`
            : 'something is already there (EEXIST)';
      fix = culprit !== undefined ? `Rename or move ${culprit}, or choose another path.` : 'Move it away or choose another path.';
      break;
    }
    case 'ENOENT':
      reason = 'it does not exist (ENOENT)';
      fix = 'Check the path (relative paths start from the folder you ran the command in).';
      break;
    case 'EMFILE':
      reason = 'too many open files (EMFILE)';
      fix = 'Close other programs or raise the limit (`ulimit -n`), then run the command again.';
      break;
    default:
      reason = `the name is too long (${code})`;
      fix = 'Choose a shorter path.';
  }
  return new FileSystemError(target, operation, code, reason, context.fix ?? fix, { cause: error });
}

/**
 * `mkdir -p` that reports the real cause: Node's recursive mkdir says ENOENT
 * where the file system is read-only or the parent is not writable, so on
 * ENOENT the first missing folder is created on its own to get the true error.
 */
export async function makeDirectory(dir: string): Promise<string | undefined> {
  const { mkdir } = await import('node:fs/promises');
  try {
    return await mkdir(dir, { recursive: true });
  } catch (error) {
    if (!isErrnoException(error) || error.code !== 'ENOENT') throw error;
    let first = path.resolve(dir);
    while (path.dirname(first) !== first) {
      try {
        statSync(path.dirname(first));
        break;
      } catch {
        first = path.dirname(first);
      }
    }
    await mkdir(first);
    throw error;
  }
}

/** Run `action`; a file-system error it throws becomes a {@link FileSystemError} with this context. */
export async function explainFsErrors<T>(context: FsErrorContext, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw describeFsError(error, context);
  }
}
