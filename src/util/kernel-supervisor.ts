/**
 * When the kernel process dies in the middle of a cell, that cell says so.
 *
 * A kernel killed by the system (out of memory), by `kill -9` or by a crash
 * in native code cannot report anything itself: JupyterLab only notices the
 * process is gone, restarts it, and the cell that was running shows no error
 * at all (its output simply stops). So `bin/tslab-kernel.js` does not run
 * tslab in its own process: it starts tslab as a child (same arguments, same
 * connection file, same process group so JupyterLab's interrupt signal still
 * reaches it) and watches it. The child tells the supervisor, over Node's IPC
 * channel, which execute requests it has accepted and not answered
 * (`reportExecuteRequests`). If the child dies with requests pending, the
 * supervisor binds the kernel's shell and iopub ports itself (the child's are
 * free now), answers the running cell with an error that names the signal and
 * says how to carry on, marks queued cells as aborted (as ipykernel does after
 * an error), and then exits, so JupyterLab restarts the kernel as usual.
 */
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as Zmq from 'zeromq';

/** What the child sends the supervisor about one execute request. */
export interface ExecuteEvent {
  /** `start` when tslab accepts the request, `end` when it has answered it. */
  event: 'start' | 'end';
  /** The request's header (its `msg_id` pairs the two events; the answer's parent header). */
  header: Record<string, unknown>;
  /** ZeroMQ routing frames of the requesting client, base64 (the shell reply goes back through them). */
  identity: string[];
}

/** The Jupyter connection file's fields the supervisor uses. */
interface ConnectionInfo {
  transport: string;
  ip: string;
  key: string;
  shell_port: number;
  iopub_port: number;
}

/** The environment variable that tells `bin/tslab-kernel.js` it is the supervised child. */
export const KERNEL_CHILD_ENV = 'MNIST_LAB_KERNEL_CHILD';

/** How long the supervisor waits for the front end to reconnect to the ports it took over. */
const RECONNECT_WAIT_MS = 5000;

/** Quiet time after the last new subscriber before the answer goes out (ZeroMQ reconnects every 100 ms). */
const SUBSCRIBERS_SETTLE_MS = 1000;

const DELIMITER = '<IDS|MSG>';

/** The text a learner reads in the cell that was running when the kernel died. */
export function kernelDiedMessage(code: number | null, signal: NodeJS.Signals | null): { ename: string; evalue: string } {
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  const likely = signal === 'SIGKILL' ? ' Most often the system ran out of memory (a wider network, a bigger batch or data set than this machine holds), or the process was killed from outside.' : '';
  return {
    ename: 'KernelDied',
    evalue:
      `the kernel process ${how} while this cell ran.${likely} ` +
      'Everything this notebook defined is gone: JupyterLab restarts the kernel, then run the cells again from the top. ' +
      'A training run keeps its last finished epoch in its run folder, so running its cell again resumes from there.',
  };
}

/** One signed Jupyter message (wire protocol 5.3), from the kernel to a client. */
function frames(info: ConnectionInfo, identity: string[], parent: Record<string, unknown>, msgType: string, content: Record<string, unknown>): Buffer[] {
  const header = { msg_id: randomUUID(), session: parent.session, username: parent.username ?? 'kernel', msg_type: msgType, version: '5.3', date: new Date().toISOString() };
  const bodies = [header, parent, {}, content].map((part) => JSON.stringify(part));
  const hmac = createHmac('sha256', info.key);
  for (const body of bodies) hmac.update(body);
  return [...identity.map((id) => Buffer.from(id, 'base64')), Buffer.from(DELIMITER), Buffer.from(hmac.digest('hex')), ...bodies.map((body) => Buffer.from(body))];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Bind, retrying briefly: the dead child's ports can take a moment to be released. */
async function bindRetrying(socket: Zmq.Socket, address: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await socket.bind(address);
      return;
    } catch (error) {
      if (attempt >= 20) throw error;
      await sleep(100);
    }
  }
}

/**
 * Answer the requests a dead kernel left open: an error for the oldest (the
 * running cell), `aborted` for the queued ones, each followed by `idle`.
 */
async function answerPending(zmq: typeof Zmq, info: ConnectionInfo, pending: ExecuteEvent[], code: number | null, signal: NodeJS.Signals | null): Promise<void> {
  const address = (port: number) => `${info.transport}://${info.ip}:${port}`;
  const iopub = new zmq.XPublisher({ sendHighWaterMark: 0 });
  const shell = new zmq.Router({ mandatory: true });
  try {
    await bindRetrying(iopub, address(info.iopub_port));
    await bindRetrying(shell, address(info.shell_port));
    // A subscriber's messages are dropped until it has reconnected. A Jupyter server has several
    // (one per open tab, one watching activity): wait for the first, then until no more come.
    iopub.receiveTimeout = RECONNECT_WAIT_MS;
    while (await iopub.receive().then(() => true, () => false)) iopub.receiveTimeout = SUBSCRIBERS_SETTLE_MS;
    const { ename, evalue } = kernelDiedMessage(code, signal);
    const traceback = [`\u001b[0;31m${ename}\u001b[0m: ${evalue}`];
    for (const [index, request] of pending.entries()) {
      if (index === 0) await iopub.send(frames(info, [], request.header, 'error', { ename, evalue, traceback }));
      await iopub.send(frames(info, [], request.header, 'status', { execution_state: 'idle' }));
      const reply = index === 0 ? { status: 'error', ename, evalue, traceback, execution_count: null } : { status: 'aborted', execution_count: null };
      // The client's socket reconnects on its own; until it has, a mandatory router refuses the send.
      for (const started = Date.now(); ; ) {
        try {
          await shell.send(frames(info, request.identity, request.header, 'execute_reply', reply));
          break;
        } catch (error) {
          if (Date.now() - started > RECONNECT_WAIT_MS) {
            process.stderr.write(`mnist-lab kernel: could not answer a pending cell: ${(error as Error).message}\n`);
            break;
          }
          await sleep(100);
        }
      }
    }
    await sleep(200); // let the frames leave before the sockets close
  } finally {
    iopub.close();
    shell.close();
  }
}

/** The `--config-path` argument of tslab's `kernel` command. */
function connectionFile(args: readonly string[]): string | undefined {
  const at = args.indexOf('--config-path');
  return at >= 0 ? args[at + 1] : args.find((arg) => arg.startsWith('--config-path='))?.slice('--config-path='.length);
}

/**
 * Run `script args` (the kernel launcher itself, in child mode) as the
 * kernel and watch it; exits this process when the child has ended.
 * `zeromqFrom` is a folder whose `zeromq` is the copy tslab uses.
 */
export function superviseKernel(script: string, args: readonly string[], zeromqFrom: string): void {
  const pending = new Map<string, ExecuteEvent>();
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [KERNEL_CHILD_ENV]: '1' },
  });
  child.on('message', (message: ExecuteEvent) => {
    const id = String(message.header.msg_id);
    if (message.event === 'start') pending.set(id, message);
    else pending.delete(id);
  });
  // JupyterLab interrupts by signalling the process group, which includes the child: nothing to forward.
  process.on('SIGINT', () => undefined);
  // Asked to stop (a shutdown that did not go through shutdown_request): the cells were ended on purpose.
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
    child.kill('SIGTERM');
  });
  child.on('exit', (code, signal) => {
    const file = connectionFile(args);
    if (stopping || (code === 0 && signal === null) || pending.size === 0 || file === undefined) {
      process.exit(code ?? 1);
    }
    process.stderr.write(`mnist-lab kernel: the kernel ${signal ? `was killed by ${signal}` : `exited with code ${code}`} with ${pending.size} cell(s) running or queued; answering them.\n`);
    const zmq = require(require.resolve('zeromq', { paths: [zeromqFrom] })) as typeof Zmq;
    const info = JSON.parse(readFileSync(path.resolve(file), 'utf8')) as ConnectionInfo;
    answerPending(zmq, info, [...pending.values()], code, signal)
      .catch((error: Error) => process.stderr.write(`mnist-lab kernel: ${error.message}\n`))
      .finally(() => process.exit(1));
  });
}

/**
 * In the supervised child: tell the supervisor about each execute request
 * tslab accepts and answers. Returns the listener for `fixTslabKernelStatus`.
 */
export function reportExecuteRequests(send: (event: ExecuteEvent) => void): (event: 'start' | 'end', message: unknown) => void {
  return (event, message) => {
    const { header, identity } = message as { header?: Record<string, unknown>; identity?: Buffer[] };
    if (header === undefined) return;
    send({ event, header, identity: (identity ?? []).map((frame) => Buffer.from(frame).toString('base64')) });
  };
}
