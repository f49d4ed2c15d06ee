/**
 * SIGTERM under keep-alive load resets nothing (issue 22, item 6): clients sending requests one after
 * another on kept-alive connections get, for every request that reached the node, either its answer or
 * `503` with `Connection: close` — never ECONNRESET or "socket hang up" — over several shutdowns. A request
 * refused at connect (ECONNREFUSED, the listener is gone) never reached the node and ends that client.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, test } from 'node:test';
import { tempDir } from '../support/config.ts';
import { freePort, ServerProcess } from '../support/server-process.ts';

const CLIENTS = 12;
const SHUTDOWNS = 4;

interface Outcome {
  status?: number;
  connection?: string;
  error?: string;
}

function get(url: string, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, connection: String(res.headers.connection ?? '') }),
      );
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

/** One client: requests back to back on its kept-alive connection until the node is gone. */
async function client(url: string, outcomes: Outcome[], warmedUp: () => void): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let sent = 1; ; sent++) {
      const outcome = await get(url, agent);
      outcomes.push(outcome);
      if (sent === 5) warmedUp();
      // Told to go elsewhere, or nobody listens any more: a client then moves to another node.
      if (outcome.error === 'ECONNREFUSED' || outcome.status === 503) return;
      if (outcome.error) return;
    }
  } finally {
    agent.destroy();
  }
}

const dir = tempDir();
const servers: ServerProcess[] = [];
after(() => {
  for (const server of servers) server.kill();
  dir.remove();
});

test('SIGTERM under keep-alive load: every request is answered, none is reset', async () => {
  for (let round = 1; round <= SHUTDOWNS; round++) {
    const server = new ServerProcess({ COHERA_DATA_DIR: dir.path }, await freePort());
    servers.push(server);
    await server.ready();

    const outcomes: Outcome[][] = Array.from({ length: CLIENTS }, () => []);
    let warm = 0;
    let allWarm: () => void = () => {};
    const warmedUp = new Promise<void>((resolve) => {
      allWarm = resolve;
    });
    const running = outcomes.map((list) =>
      client(`${server.baseUrl}/health`, list, () => {
        warm += 1;
        if (warm === CLIENTS) allWarm();
      }),
    );
    await warmedUp;
    server.child.kill('SIGTERM');
    await Promise.all(running);
    const exit = await server.exit();
    assert.deepEqual(exit, { code: 0, signal: null }, `round ${round}: ${server.stderr}`);
    // The node's own account: every connection closed after an answer, none cut off at the deadline.
    const drained = server.lines.find((line) => line.msg === 'connections drained');
    assert.equal(drained?.destroyed, 0, `round ${round}: ${JSON.stringify(drained)}`);

    const all = outcomes.flat();
    const resets = all.filter((o) => o.error && o.error !== 'ECONNREFUSED');
    assert.deepEqual(resets, [], `round ${round}: requests that reached the node and got no answer`);
    for (const outcome of all.filter((o) => o.status !== undefined)) {
      assert.ok(
        outcome.status === 200 || (outcome.status === 503 && outcome.connection === 'close'),
        `round ${round}: ${JSON.stringify(outcome)}`,
      );
    }
    // Each client's last answer closed its connection: the drain told every client, none was cut off.
    for (const list of outcomes) {
      const answered = list.filter((o) => o.status !== undefined);
      assert.equal(answered.at(-1)?.connection, 'close', `round ${round}: ${JSON.stringify(list.at(-1))}`);
    }
  }
});
