/**
 * The per-request loggers Fastify makes through `withLazyRequestLoggers` (http/logger.ts): a request's logger
 * writes with the request's id and the server's redaction, its children keep both, and it writes nothing
 * below the level.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { createLogger, withLazyRequestLoggers } from '../../src/http/logger.ts';

function capture(): { lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, stream };
}

async function appLogging(level: 'warn' | 'debug') {
  const { lines, stream } = capture();
  const app = Fastify({
    loggerInstance: withLazyRequestLoggers(createLogger(level, stream)),
    disableRequestLogging: true,
    genReqId: () => 'req_test_1',
  });
  app.get('/log', async (request) => {
    request.log.info({ token: 'ck_live_secret' }, 'info line');
    request.log.warn('warn line');
    request.log.child({ step: 'child' }).warn('child line');
    request.log.child({ step: 'child' }).child({ depth: 2 }).warn('grandchild line');
    return { ok: true };
  });
  await app.ready();
  return { app, lines };
}

describe('per-request loggers', () => {
  test("a request's logger writes with its request id, and its children keep it", async () => {
    const { app, lines } = await appLogging('debug');
    try {
      assert.equal((await app.inject({ url: '/log' })).statusCode, 200);
      const byMessage = new Map(lines.map((line) => [line.msg, line]));
      assert.equal(byMessage.get('info line')?.reqId, 'req_test_1');
      assert.equal(byMessage.get('warn line')?.reqId, 'req_test_1');
      assert.equal(byMessage.get('child line')?.reqId, 'req_test_1');
      assert.equal(byMessage.get('child line')?.step, 'child');
      assert.equal(byMessage.get('grandchild line')?.reqId, 'req_test_1');
      assert.equal(byMessage.get('grandchild line')?.step, 'child');
      assert.equal(byMessage.get('grandchild line')?.depth, 2);
      // The server's redaction applies to a request's lines.
      assert.equal(byMessage.get('info line')?.token, '[redacted]');
      assert.equal(byMessage.get('info line')?.service, 'cohera');
    } finally {
      await app.close();
    }
  });

  test('below the level a request writes nothing; at it, it does', async () => {
    const { app, lines } = await appLogging('warn');
    try {
      await app.inject({ url: '/log' });
      assert.deepEqual(
        lines.map((line) => line.msg),
        ['warn line', 'child line', 'grandchild line'],
      );
    } finally {
      await app.close();
    }
  });

  test("the server's own logger is the logger it was given, with its level", async () => {
    const { app, lines } = await appLogging('warn');
    try {
      assert.equal(app.log.level, 'warn');
      app.log.info('not written');
      app.log.warn({ secret: 'x' }, 'server line');
      assert.deepEqual(
        lines.map((line) => [line.msg, line.secret]),
        [['server line', '[redacted]']],
      );
    } finally {
      await app.close();
    }
  });

  test("a change of the server's level applies to the request loggers", async () => {
    const { app, lines } = await appLogging('warn');
    try {
      app.log.level = 'info';
      await app.inject({ url: '/log' });
      assert.ok(lines.some((line) => line.msg === 'info line' && line.reqId === 'req_test_1'));
    } finally {
      await app.close();
    }
  });
});
