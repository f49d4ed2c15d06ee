/** `Output`: colour only on a TTY without NO_COLOR, plain tables in a pipe, shown-once secrets. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { colorEnabled, Output } from '../../src/output/index.ts';

function streams(isTTY: boolean) {
  const sink = () => {
    const stream = {
      text: '',
      isTTY,
      write(chunk: string) {
        stream.text += chunk;
        return true;
      },
    };
    return stream;
  };
  const out = sink();
  const err = sink();
  return { out, err, streams: { stdout: out, stderr: err } as never };
}

describe('Output', () => {
  test('colour: a terminal, no NO_COLOR, no --no-color, no TERM=dumb', () => {
    assert.equal(colorEnabled({ isTTY: true }, {}), true);
    assert.equal(colorEnabled({ isTTY: false }, {}), false);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(colorEnabled({ isTTY: true }, {}, false), false);
    assert.equal(colorEnabled({ isTTY: true }, { TERM: 'dumb' }), false);
  });

  test('a table in a pipe: plain aligned columns, no borders, no escape codes', () => {
    const s = streams(false);
    new Output(s.streams, { jsonMode: false, env: {} }).table(
      ['ID', 'NAME'],
      [
        ['key_1', 'ci'],
        ['key_22', null],
      ],
    );
    assert.equal(s.out.text, 'ID      NAME\nkey_1   ci\nkey_22  —\n');
  });

  test('a table on a terminal has a bold header, none with NO_COLOR', () => {
    const coloured = streams(true);
    new Output(coloured.streams, { jsonMode: false, env: {} }).table(['ID'], [['x']]);
    assert.ok(coloured.out.text.includes('\u001b[1m'));
    const plain = streams(true);
    new Output(plain.streams, { jsonMode: false, env: { NO_COLOR: '1' } }).table(['ID'], [['x']]);
    assert.ok(!plain.out.text.includes('\u001b['));
  });

  test('a secret: the value alone in a pipe; labelled with a warning on a terminal; nothing on stdout with --json', () => {
    const pipe = streams(false);
    new Output(pipe.streams, { jsonMode: false, env: {} }).secret('API key', 'SECRET', 'shown once');
    assert.equal(pipe.out.text, 'SECRET\n');
    assert.equal(pipe.err.text, '');
    const tty = streams(true);
    new Output(tty.streams, { jsonMode: false, env: { NO_COLOR: '1' } }).secret(
      'API key',
      'SECRET',
      'shown once',
    );
    assert.equal(tty.out.text, 'API key: SECRET\n');
    assert.equal(tty.err.text, 'cohera: shown once\n');
    const json = streams(false);
    new Output(json.streams, { jsonMode: true, env: {} }).secret('API key', 'SECRET', 'shown once');
    assert.equal(json.out.text, '');
  });

  test('progress only on a terminal, on stderr', () => {
    const pipe = streams(false);
    new Output(pipe.streams, { jsonMode: false, env: {} }).progress('working');
    assert.equal(pipe.err.text + pipe.out.text, '');
    const tty = streams(true);
    new Output(tty.streams, { jsonMode: false, env: { NO_COLOR: '1' } }).progress('working');
    assert.equal(tty.err.text, 'working\n');
    assert.equal(tty.out.text, '');
  });
});
