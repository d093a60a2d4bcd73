import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/config/redactor.js';
import type { Job } from '../../src/config/types.js';
import { createLogger } from '../../src/log/logger.js';
import { StdoutSink } from '../../src/sinks/stdout-sink.js';

const job = { name: 'j', kind: 'grid' } as Job;

function sinkOn(stdout: Writable): StdoutSink {
  const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }), pretty: false });
  return new StdoutSink({ type: 'stdout', format: 'ndjson' }, { job, runId: 'r', startedAt: new Date(), configDir: '/', stdout, logger, redactor: new Redactor() });
}

describe('stdout sink', () => {
  it('does not hang when the reader closes the pipe while restq waits for it to drain', async () => {
    // highWaterMark 1 and a write that never completes: the first write asks to wait for drain.
    const stuck = new Writable({ highWaterMark: 1, write: () => undefined });
    const sink = sinkOn(stuck);
    const writing = sink.write([[1]], ['id']);
    setImmediate(() => stuck.destroy());
    await expect(writing).resolves.toBeUndefined();
    await expect(sink.write([[2]], ['id'])).rejects.toMatchObject({ code: 'E_SINK' });
  });
});
