import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { tempConfigDir, type ConfigDir } from '../helpers/config-dir.js';
import { expectConfigIssueAt } from '../helpers/config-issues.js';

const CONNECTIONS = ['connections:', '  api:', '    baseUrl: http://127.0.0.1:9', '    accessToken: tok-abcdef', ''].join('\n');
const lines = (...l: string[]) => `${l.join('\n')}\n`;
const GRID = ['connection: api', 'grid:', '  path: /orders', '  query: { since: "{{window.start}}" }', '  rows: $.data[*]'];

const CASES: Array<{ name: string; job: string; at: string; message: RegExp }> = [
  {
    name: 'incremental without start',
    job: lines(...GRID, 'incremental:', '  cursor: $.updated_at'),
    at: 'jobs/orders.yaml:6:1',
    message: /incremental needs start: the first run's window start/,
  },
  {
    name: 'lookback on a string cursor',
    job: lines(...GRID, 'incremental:', '  cursor: $.version', '  type: string', '  start: a', '  lookback: 10m'),
    at: 'jobs/orders.yaml:10:13',
    message: /incremental\.lookback needs type: datetime/,
  },
  {
    name: 'a misspelt incremental key, with a did-you-mean',
    job: lines(...GRID, 'incremental:', '  cursr: $.updated_at', '  start: "2024-01-01T00:00:00Z"'),
    at: 'jobs/orders.yaml:7:3',
    message: /^unknown key "cursr" in incremental: did you mean "cursor"\?$/,
  },
  {
    name: 'a start that is no datetime',
    job: lines(...GRID, 'incremental:', '  cursor: $.updated_at', '  start: yesterday'),
    at: 'jobs/orders.yaml:8:10',
    message: /incremental\.start "yesterday" is not a datetime/,
  },
  {
    name: 'an unknown misfire policy',
    job: lines(...GRID, 'misfire: sometimes', 'incremental:', '  cursor: $.updated_at', '  start: "2024-01-01T00:00:00Z"'),
    at: 'jobs/orders.yaml:6:10',
    message: /misfire must be one of "once", "skip"/,
  },
  {
    name: '{{window.start}} in a job without incremental',
    job: lines(...GRID),
    at: 'jobs/orders.yaml:4:19',
    message: /\{\{window\.start\}\} needs an incremental: section/,
  },
  {
    name: 'an unknown window template',
    job: lines('connection: api', 'grid:', '  path: /orders', '  query: { since: "{{window.begin}}" }', '  rows: $.data[*]', 'incremental:', '  cursor: $.u', '  start: 1', '  type: number'),
    at: 'jobs/orders.yaml:4:19',
    message: /use \{\{window\.start\}\} or \{\{window\.end\}\}, not \{\{window\.begin\}\}/,
  },
  {
    name: 'incremental on a scalar job',
    job: lines('connection: api', 'scalar: { path: /count, value: $.n }', 'incremental:', '  cursor: $.u', '  start: "2024-01-01T00:00:00Z"'),
    at: 'jobs/orders.yaml:3:1',
    message: /incremental works on grid jobs/,
  },
];

describe('incremental and misfire keys are validated with file:line:col', () => {
  let project: ConfigDir | undefined;
  afterEach(() => project?.cleanup());

  it.each(CASES)('$name', ({ job, at, message }) => {
    project = tempConfigDir({ 'connections.yaml': CONNECTIONS, 'jobs/orders.yaml': job });
    expectConfigIssueAt(project.dir, {}, message, at);
  });

  it('accepts a complete incremental job and freezes its settings with durations in ms', () => {
    project = tempConfigDir({
      'connections.yaml': CONNECTIONS,
      'jobs/orders.yaml': lines(...GRID, 'misfire: skip', 'incremental:', '  cursor: $.updated_at', '  start: "2024-01-01T00:00:00+02:00"', '  lookback: 10m', '  slice: 1d', '  filter: true'),
    });
    const job = loadConfig({ dir: project.dir, env: {} }).jobs['orders']!;
    expect(job.misfire).toBe('skip');
    expect(job.kind === 'grid' && job.incremental).toEqual({ cursor: '$.updated_at', type: 'datetime', start: '2024-01-01T00:00:00+02:00', lookback: 600_000, slice: 86_400_000, filter: true });
  });
});
