/* eslint-disable no-control-regex -- the terminal escape sequences are what this test is about */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { formatPretty } from '../../src/log/pretty-format.js';
import { ERASE_LINE, StatusTerminal } from '../../src/log/terminal.js';

/** A stand-in for process.stderr on a terminal: records what is written. */
function fakeTerminal(columns = 80): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _e, done) => (written.push(String(chunk)), done()) }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns });
  return { stream, written };
}

describe('pretty log lines', () => {
  it('formats time, level, message and key=value fields, quoting values with spaces', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
    const line = formatPretty({ level: 40, time, pid: 1, hostname: 'h', msg: 'slow page', job: 'orders', url: 'http://x/a?b=c', note: 'two words', n: 3 }, { colour: false, stacks: false });
    expect(line).toBe('03:04:05.006 WARN  slow page job=orders url=http://x/a?b=c note="two words" n=3');
  });

  it('shows an error by code and message, its stack only when asked, colours only when asked', () => {
    const err = { type: 'RestqError', code: 'E_HTTP', message: 'GET x answered 500', stack: 'RestqError: GET x answered 500\n    at a (file.js:1:1)\n    at b (file.js:2:2)' };
    const plain = formatPretty({ level: 50, time: 0, msg: 'run failed', err }, { colour: false, stacks: false });
    expect(plain).toMatch(/ERROR run failed \[E_HTTP\] GET x answered 500$/);
    const stacked = formatPretty({ level: 50, time: 0, msg: 'run failed', err }, { colour: true, stacks: true });
    expect(stacked).toContain('\x1b[31mERROR\x1b[0m');
    expect(stacked.split('\n').slice(1).map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''))).toEqual(['    at a (file.js:1:1)', '    at b (file.js:2:2)']);
  });

  it('writes one key per field even when a call repeats a bound field', () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(String(chunk)), done()) });
    const logger = createLogger({ level: 'info', destination, pretty: false }).child({ connection: 'crm' });
    logger.info({ connection: 'crm', attempt: 2 }, 'token request');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.match(/"connection":/g)).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ connection: 'crm', attempt: 2, msg: 'token request' });
  });
});

describe('StatusTerminal', () => {
  it('erases the status line before a log line and draws it again after', () => {
    const { stream, written } = fakeTerminal();
    const terminal = new StatusTerminal(stream);
    terminal.writeLine('first');
    terminal.setStatus('pages 1 · rows 10');
    terminal.writeLine('a log line');
    terminal.clearStatus();
    terminal.clearStatus();
    expect(written).toEqual(['first\n', `${ERASE_LINE}pages 1 · rows 10`, `${ERASE_LINE}a log line\npages 1 · rows 10`, ERASE_LINE]);
  });

  it('cuts a status line to the terminal width, since a wrapped line cannot be erased', () => {
    const { stream, written } = fakeTerminal(20);
    new StatusTerminal(stream).setStatus('x'.repeat(50));
    expect(written[0]).toBe(`${ERASE_LINE}${'x'.repeat(18)}…`);
  });
});
