/**
 * The kernel as a Jupyter server sees it, over ZeroMQ, started through the
 * project's launcher (issue "Stepping through the notebooks", point 2):
 * - it never drops messages a slow front end has not read yet (a cell stayed
 *   `[*]` with its progress frozen on a busy machine): a cell streams
 *   thousands of live display updates while the test, like a Jupyter server
 *   starved of CPU, reads nothing; afterwards every update and the cell's
 *   final `idle` status must arrive (see src/util/kernel-status.ts);
 * - a kernel process killed in the middle of a cell (as the out-of-memory
 *   killer does) still ends that cell with an error that says what happened
 *   (see src/util/kernel-supervisor.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { tempDir } from './helpers/fixtures';

const ROOT = path.resolve(__dirname, '..');
const UPDATES = 6000;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface JupyterMessage {
  header: { msg_type: string; msg_id: string };
  parent_header: { msg_id?: string };
  content: Record<string, unknown>;
}

const DELIMITER = '<IDS|MSG>';

function parse(frames: Buffer[]): JupyterMessage {
  const at = frames.findIndex((frame) => frame.toString() === DELIMITER);
  const [, header, parent, , content] = frames.slice(at + 1).map((frame) => frame.toString());
  return { header: JSON.parse(header), parent_header: JSON.parse(parent), content: JSON.parse(content) };
}

interface Kernel {
  process: ChildProcess;
  iopub: zmq.Subscriber;
  request(msgType: string, content: Record<string, unknown>): Promise<string>;
  reply(id: string): Promise<JupyterMessage>;
  execute(code: string): Promise<string>;
  close(): void;
}

/** Start the kernel through bin/tslab-kernel.js, as JupyterLab does, and connect a shell and an iopub socket. */
async function startKernel(): Promise<Kernel> {
  const key = randomBytes(16).toString('hex');
  const ports = { shell_port: await freePort(), iopub_port: await freePort(), stdin_port: await freePort(), control_port: await freePort(), hb_port: await freePort() };
  const config = path.join(tempDir('mnist-lab-kernel-'), 'connection.json');
  writeFileSync(config, JSON.stringify({ ...ports, ip: '127.0.0.1', key, transport: 'tcp', signature_scheme: 'hmac-sha256', kernel_name: 'tslab' }));
  const kernel = spawn(process.execPath, [path.join(ROOT, 'bin', 'tslab-kernel.js'), 'kernel', '--config-path', config], { cwd: ROOT, stdio: process.env.KERNEL_DEBUG ? 'inherit' : 'ignore' });
  // A Jupyter server's shell socket keeps one routing id (its session) across reconnects.
  const shell = new zmq.Dealer({ routingId: randomUUID() });
  const iopub = new zmq.Subscriber();
  shell.connect(`tcp://127.0.0.1:${ports.shell_port}`);
  iopub.connect(`tcp://127.0.0.1:${ports.iopub_port}`);
  iopub.subscribe();
  const session = randomUUID();
  const request = async (msgType: string, content: Record<string, unknown>): Promise<string> => {
    const header = { msg_id: randomUUID(), username: 'test', session, msg_type: msgType, version: '5.3', date: new Date().toISOString() };
    const bodies = [header, {}, {}, content].map((part) => JSON.stringify(part));
    const hmac = createHmac('sha256', key);
    for (const body of bodies) hmac.update(body);
    await shell.send([DELIMITER, hmac.digest('hex'), ...bodies]);
    return header.msg_id;
  };
  // A reply that never comes fails the test with a message instead of hanging it.
  shell.receiveTimeout = 60_000;
  const reply = async (id: string): Promise<JupyterMessage> => {
    for (;;) {
      const frames = await shell.receive().catch(() => assert.fail(`no shell reply to ${id} within a minute`));
      const message = parse(frames);
      if (message.parent_header.msg_id === id) return message;
    }
  };
  // The kernel is up when it answers; by then the subscription has reached it too.
  await reply(await request('kernel_info_request', {}));
  await new Promise((resolve) => setTimeout(resolve, 500));
  return {
    process: kernel,
    iopub,
    request,
    reply,
    execute: (code) => request('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }),
    close: () => {
      kernel.kill('SIGKILL');
      shell.close();
      iopub.close();
    },
  };
}

/** The iopub messages answering request `id`, until its `idle` (or nothing more within the timeout). */
async function iopubUntilIdle(iopub: zmq.Subscriber, id: string, timeoutMs: number): Promise<JupyterMessage[]> {
  iopub.receiveTimeout = timeoutMs;
  const messages: JupyterMessage[] = [];
  for (;;) {
    let frames: Buffer[];
    try {
      frames = await iopub.receive();
    } catch {
      return messages;
    }
    const message = parse(frames);
    if (message.parent_header.msg_id !== id) continue;
    messages.push(message);
    if (message.header.msg_type === 'status' && message.content.execution_state === 'idle') return messages;
  }
}

test(`a cell's ${UPDATES} live display updates and its final idle status all reach a front end that reads late`, { timeout: 60_000 }, async () => {
  const kernel = await startKernel();
  try {
    const code = `import * as tslab from "tslab";\nconst live = tslab.newDisplay();\nfor (let i = 1; i <= ${UPDATES}; i++) live.text("epoch " + i + " " + "=".repeat(200));\n"done"`;
    const id = await kernel.execute(code);
    const answer = await kernel.reply(id);
    if (answer.content.status !== 'ok') {
      const errors = (await iopubUntilIdle(kernel.iopub, id, 2000)).filter((message) => !message.header.msg_type.includes('display'));
      assert.fail(`the cell failed: ${errors.map((message) => `${message.header.msg_type}: ${JSON.stringify(message.content).slice(0, 300)}`).join(' | ')}`);
    }
    // Only now does the "front end" read iopub.
    const messages = await iopubUntilIdle(kernel.iopub, id, 10_000);
    const updates = messages.filter((message) => message.header.msg_type === 'display_data' || message.header.msg_type === 'update_display_data');
    const idle = messages.some((message) => message.header.msg_type === 'status' && message.content.execution_state === 'idle');
    assert.ok(idle, `the cell's idle status arrived (after ${updates.length} of ${UPDATES} display messages)`);
    assert.equal(updates.length, UPDATES, 'every display update arrived');
    assert.match(String((updates.at(-1)?.content.data as Record<string, unknown>)['text/plain'] ?? ''), new RegExp(`^epoch ${UPDATES} `));
  } finally {
    kernel.close();
  }
});

test('a kernel killed in the middle of a training cell ends that cell with an error saying so, aborts the queued cell, and exits for a restart', { timeout: 120_000 }, async () => {
  const kernel = await startKernel();
  try {
    // The process that runs the cells (not the launcher JupyterLab started): what the out-of-memory killer would pick.
    const pidCell = await kernel.execute('console.log(process.pid)');
    const pidReply = await kernel.reply(pidCell);
    assert.equal(pidReply.content.status, 'ok');
    const pidMessages = await iopubUntilIdle(kernel.iopub, pidCell, 10_000);
    const pid = Number(pidMessages.find((message) => message.header.msg_type === 'stream')?.content.text);
    assert.ok(Number.isInteger(pid) && pid !== kernel.process.pid, `the cells run in a child process of the launcher (${pid})`);

    const training = await kernel.execute(
      'import * as lab from "./dist";\nconst images = lab.tf.randomUniform([2048, 28, 28]);\nconst labels = lab.tf.randomUniform([2048], 0, 10, "int32");\nawait lab.fit(lab.createMlp(lab.DEFAULT_MLP), images, labels, { epochs: 1000, verbose: 0, callbacks: { onEpochEnd: (epoch) => { if (epoch === 0) console.log("training"); } } });',
    );
    const queued = await kernel.execute('"never runs"');
    // Kill once the epochs run (setting up the training graph blocks the kernel for a while, longer under load), so
    // the kernel has taken the queued request in by then, as it has in a notebook where a training is under way.
    kernel.iopub.receiveTimeout = 60_000;
    for (;;) {
      const message = parse(await kernel.iopub.receive().catch(() => assert.fail('the training cell did not finish an epoch within a minute')));
      if (message.parent_header.msg_id === training && message.header.msg_type === 'stream' && String(message.content.text).includes('training')) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    process.kill(pid, 'SIGKILL');

    const messages = await iopubUntilIdle(kernel.iopub, training, 30_000);
    const error = messages.find((message) => message.header.msg_type === 'error');
    assert.ok(error, `an error reached the training cell: ${messages.map((message) => message.header.msg_type).join(', ')}`);
    assert.equal(error.content.ename, 'KernelDied');
    assert.match(String(error.content.evalue), /the kernel process was killed by SIGKILL while this cell ran\. Most often the system ran out of memory/);
    assert.match(String(error.content.evalue), /running its cell again resumes from there/);
    assert.ok(messages.some((message) => message.header.msg_type === 'status' && message.content.execution_state === 'idle'), 'and its idle status');
    const trainingReply = await kernel.reply(training);
    assert.equal(trainingReply.content.status, 'error');
    assert.equal((await kernel.reply(queued)).content.status, 'aborted', 'the queued cell is aborted, as after an error');
    const [code] = await once(kernel.process, 'exit');
    assert.notEqual(code, 0, 'the launcher exits with an error, so JupyterLab restarts the kernel');
  } finally {
    kernel.close();
  }
});
