/**
 * The kernel never drops messages a slow front end has not read yet (issue
 * "Stepping through the notebooks", point 2: a cell stayed `[*]` with its
 * progress frozen on a busy machine). A cell streams thousands of live
 * display updates while the test, like a Jupyter server starved of CPU,
 * reads nothing; afterwards every update and the cell's final `idle` status
 * must arrive. With ZeroMQ's default high-water mark the PUB socket drops
 * what is above it (see src/util/kernel-status.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
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

test(`a cell's ${UPDATES} live display updates and its final idle status all reach a front end that reads late`, { timeout: 60_000 }, async () => {
  const key = randomBytes(16).toString('hex');
  const ports = { shell_port: await freePort(), iopub_port: await freePort(), stdin_port: await freePort(), control_port: await freePort(), hb_port: await freePort() };
  const config = path.join(tempDir('mnist-lab-kernel-'), 'connection.json');
  writeFileSync(config, JSON.stringify({ ...ports, ip: '127.0.0.1', key, transport: 'tcp', signature_scheme: 'hmac-sha256', kernel_name: 'tslab' }));
  const kernel = spawn(process.execPath, [path.join(ROOT, 'bin', 'tslab-kernel.js'), 'kernel', '--config-path', config], { cwd: ROOT, stdio: process.env.KERNEL_DEBUG ? 'inherit' : 'ignore' });
  const shell = new zmq.Dealer({ routingId: randomUUID() });
  const iopub = new zmq.Subscriber();
  try {
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
    const reply = async (id: string): Promise<JupyterMessage> => {
      for (;;) {
        const message = parse(await shell.receive());
        if (message.parent_header.msg_id === id) return message;
      }
    };
    // The kernel is up when it answers; by then the subscription has reached it too.
    await reply(await request('kernel_info_request', {}));
    await new Promise((resolve) => setTimeout(resolve, 500));

    const code = `import * as tslab from "tslab";\nconst live = tslab.newDisplay();\nfor (let i = 1; i <= ${UPDATES}; i++) live.text("epoch " + i + " " + "=".repeat(200));\n"done"`;
    const id = await request('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    const answer = await reply(id);
    if (answer.content.status !== 'ok') {
      iopub.receiveTimeout = 2000;
      const errors: string[] = [];
      for (;;) {
        const frames = await iopub.receive().catch(() => null);
        if (frames === null) break;
        const message = parse(frames);
        if (!message.header.msg_type.includes('display')) errors.push(`${message.header.msg_type}: ${JSON.stringify(message.content).slice(0, 300)}`);
      }
      assert.fail(`the cell failed: ${errors.join(' | ')}`);
    }
    // Only now does the "front end" read iopub.
    let updates = 0;
    let lastText = '';
    let idle = false;
    iopub.receiveTimeout = 10_000;
    while (!idle) {
      let frames: Buffer[];
      try {
        frames = await iopub.receive();
      } catch {
        break; // nothing more within the timeout
      }
      const message = parse(frames);
      if (message.parent_header.msg_id !== id) continue;
      if (message.header.msg_type === 'display_data' || message.header.msg_type === 'update_display_data') {
        updates++;
        lastText = String((message.content.data as Record<string, unknown>)['text/plain'] ?? '');
      }
      if (message.header.msg_type === 'status' && message.content.execution_state === 'idle') idle = true;
    }
    assert.ok(idle, `the cell's idle status arrived (after ${updates} of ${UPDATES} display messages)`);
    assert.equal(updates, UPDATES, 'every display update arrived');
    assert.match(lastText, new RegExp(`^epoch ${UPDATES} `));
  } finally {
    kernel.kill('SIGKILL');
    shell.close();
    iopub.close();
  }
});
