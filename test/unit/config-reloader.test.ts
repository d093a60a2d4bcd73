import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { diffConfigs, Replaceable, startConfigReloader, type ConfigReloader } from '../../src/runtime/config-reloader.js';
import { memoryLogger } from '../helpers/temp-project.js';

const config = (jobs: Record<string, unknown>): Config =>
  ({ dir: '/nowhere', connections: { api: { baseUrl: 'http://x' } }, jobs, redactor: { redact: (s: string) => s }, warnings: [] }) as unknown as Config;

let reloader: ConfigReloader | undefined;
afterEach(() => reloader?.close());

describe('config reloader', () => {
  it('diffs jobs: added, removed, changed', () => {
    const before = config({ a: { name: 'a', connection: 'api', x: 1 }, b: { name: 'b', connection: 'api' } });
    const after = config({ a: { name: 'a', connection: 'api', x: 2 }, c: { name: 'c', connection: 'api' } });
    expect(diffConfigs(before, after)).toEqual({ added: ['c'], removed: ['b'], changed: ['a'] });
  });

  it('applies a good config, keeps the last good one on a load error or a failed apply', async () => {
    const logger = memoryLogger();
    let next: Config | Error = config({ a: { name: 'a' }, b: { name: 'b' } });
    const applied: Config[] = [];
    let failApply = false;
    reloader = startConfigReloader({
      dir: '/nowhere',
      env: {},
      logger: logger.logger,
      current: config({ a: { name: 'a' } }),
      watch: false,
      load: () => {
        if (next instanceof Error) throw next;
        return next;
      },
      apply: async (c) => {
        if (failApply) throw new Error('redis down');
        applied.push(c);
      },
    });
    await reloader.reload('test');
    expect(applied).toHaveLength(1);
    expect(logger.text()).toContain('config reloaded: 2 jobs (+1, -0, ~0)');
    next = new Error('jobs/x.yaml:2:3 bad');
    await reloader.reload('test');
    expect(applied).toHaveLength(1);
    expect(logger.text()).toContain('config reload failed, keeping the last good config: jobs/x.yaml:2:3 bad');
    next = config({ a: { name: 'a' }, b: { name: 'b' }, c: { name: 'c' } });
    failApply = true;
    await reloader.reload('test');
    expect(logger.text()).toContain('could not be applied, keeping the last good config: redis down');
    failApply = false;
    await reloader.reload('test');
    // Diffed against the last config applied (a, b), not the one that failed to apply.
    expect(logger.text()).toContain('config reloaded: 3 jobs (+1, -0, ~0)');
  });

  it('SIGHUP handler is removed on close', () => {
    const before = process.listenerCount('SIGHUP');
    const r = startConfigReloader({ dir: '/nowhere', env: {}, logger: memoryLogger().logger, current: config({}), watch: false, apply: async () => undefined });
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    r.close();
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });

});

describe('Replaceable (API clients a reload replaces)', () => {
  it('closes the replaced one only when its runs are released, and close waits for that', async () => {
    const closed: string[] = [];
    const clients = (name: string) => ({ name, close: async () => void closed.push(name) });
    const mode = new Replaceable(clients('first'), memoryLogger().logger);
    let release: () => void = () => undefined;
    mode.swap(clients('second'), new Promise<void>((resolve) => (release = resolve)));
    expect(mode.current.name).toBe('second');
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toEqual([]); // a run still uses "first"
    const closing = mode.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toEqual([]); // close waits for the released runs
    release();
    await closing;
    expect(closed).toEqual(['first', 'second']);
  });
});
