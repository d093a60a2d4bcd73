import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigError, formatConfigIssue } from '../../src/errors/config-error.js';
import { tempConfigDir, type ConfigDir } from '../helpers/config-dir.js';

/**
 * The bad-input corpus for configuration files: each entry is what a new user writes, and the
 * one `file:line:col message` restq must answer with. Every entry is a separate test.
 */
const CONNECTIONS = 'connections:\n  api:\n    baseUrl: http://127.0.0.1:9\n';
const JOB_TAIL = 'grid:\n  path: /x\n  rows: $.data[*]\n';

let project: ConfigDir | undefined;
afterEach(() => project?.cleanup());

function issuesOf(files: Record<string, string | Buffer>): string[] {
  project = tempConfigDir({});
  for (const [name, text] of Object.entries(files)) project.write(name, text as string);
  try {
    loadConfig({ dir: project.dir, env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map(formatConfigIssue);
  }
  return [];
}

const ALIAS_BOMB = [
  'connection: api',
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  JOB_TAIL,
].join('\n');

const CORPUS: [string, Record<string, string | Buffer>, string | RegExp][] = [
  [
    'non-UTF-8 bytes in a job file (Latin-1 é)',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': Buffer.concat([Buffer.from('connection: api\ndescription: "caf'), Buffer.from([0xe9]), Buffer.from(`"\n${JOB_TAIL}`)]) as unknown as string },
    'jobs/x.yaml:2:18 is not UTF-8 text: byte 0xe9 is not valid UTF-8 (a Latin-1 or Windows-1252 file?); save the file as UTF-8',
  ],
  [
    'non-UTF-8 bytes in connections.yaml (a lone continuation byte)',
    { 'connections.yaml': Buffer.concat([Buffer.from(`${CONNECTIONS}    headers: { X-A: "`), Buffer.from([0x80]), Buffer.from('" }\n')]) as unknown as string },
    /^connections\.yaml:4:22 is not UTF-8 text: byte 0x80/,
  ],
  [
    'a truncated UTF-8 sequence at the end of a file',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': Buffer.concat([Buffer.from(`connection: api\n${JOB_TAIL}# `), Buffer.from([0xe2, 0x82])]) as unknown as string },
    /^jobs\/x\.yaml:5:3 is not UTF-8 text: byte 0xe2/,
  ],
  [
    'an alias to an anchor that is not defined',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': `connection: api\ndescription: *nope\n${JOB_TAIL}` },
    'jobs/x.yaml:2:14 YAML alias *nope refers to an anchor &nope that is not defined above it; define &nope first, or quote the value if "*" was meant as text',
  ],
  [
    'an alias used above its anchor',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': `connection: api\ndescription: *later\nparams: { a: &later x }\n${JOB_TAIL}` },
    /^jobs\/x\.yaml:2:14 YAML alias \*later refers to an anchor &later that is not defined above it/,
  ],
  [
    'an alias bomb (billion laughs)',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': ALIAS_BOMB },
    /^jobs\/x\.yaml:4:8 YAML aliases expand to too many nodes \(an "alias bomb"/,
  ],
  [
    'an unquoted cron with several fields',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': `connection: api\nschedule: */5 * * * *\n${JOB_TAIL}` },
    /^jobs\/x\.yaml:2:\d+ YAML syntax error: .*; a value starting with \* is a YAML alias \(\*name\), not text: quote it, e\.g\. schedule: "\*\/5 \* \* \* \*"$/,
  ],
  [
    'an unquoted one-word cron-ish value (*/5)',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': `connection: api\nschedule: */5\n${JOB_TAIL}` },
    /^jobs\/x\.yaml:2:11 YAML alias \*\/5 .*quote it, e\.g\. schedule: "\*\/5 \* \* \* \*"$/,
  ],
  [
    'a 6-field cron with a year',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': `connection: api\nschedule: "0 9 * * 1 2027"\n${JOB_TAIL}` },
    /^jobs\/x\.yaml:2:11 job "x": invalid cron schedule "0 9 \* \* 1 2027" \(6 fields are read with seconds first .* the last field "2027" looks like a year, which cron has no field for: remove it\)/,
  ],
  [
    'a 6-field cron with a year range',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': `connection: api\nschedule: "0 0 1 1 * 2026-2030"\n${JOB_TAIL}` },
    /looks like a year/,
  ],
  [
    'a proxy port above 65535',
    { 'connections.yaml': `${CONNECTIONS}    proxy: { host: proxy.local, port: 70000 }\n` },
    'connections.yaml:4:39 connections.api.proxy.port must be at most 65535, got number 70000',
  ],
  [
    'a proxy port of 0',
    { 'connections.yaml': `${CONNECTIONS}    proxy: { host: proxy.local, port: 0 }\n` },
    'connections.yaml:4:39 connections.api.proxy.port must be at least 1, got number 0',
  ],
  [
    'a proxy port given as a string through ${VAR}',
    { 'connections.yaml': `${CONNECTIONS}    proxy: { host: proxy.local, port: "99999" }\n` },
    /proxy\.port must be at most 65535/,
  ],
  [
    'attempts: 0 (no "must be be")',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': `connection: api\nattempts: 0\n${JOB_TAIL}` },
    'jobs/x.yaml:2:11 attempts must be at least 1, got number 0',
  ],
  [
    'an empty output list',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': `connection: api\noutput: []\n${JOB_TAIL}` },
    'jobs/x.yaml:2:9 output must have at least 1 item, got a list',
  ],
  [
    'a CSV path under /proc',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': `connection: api\n${JOB_TAIL}output:\n  - csv: /proc/self/out.csv\n` },
    'jobs/x.yaml:6:10 job "x": csv path "/proc/self/out.csv" is under /proc, a kernel file system, not a place for files: write to a directory such as out/{job}.csv',
  ],
  [
    'a CSV path under /sys',
    { 'connections.yaml': CONNECTIONS, 'jobs/x.yaml': `connection: api\n${JOB_TAIL}output:\n  - csv: { path: /sys/out.csv }\n` },
    /csv path "\/sys\/out\.csv" is under \/sys/,
  ],
];

describe('bad configuration corpus: one clear file:line:col message each', () => {
  it.each(CORPUS)('%s', (_name, files, expected) => {
    const issues = issuesOf(files);
    expect(issues.length).toBeGreaterThan(0);
    if (typeof expected === 'string') expect(issues).toContain(expected);
    else expect(issues.some((i) => expected.test(i)), issues.join('\n')).toBe(true);
    for (const issue of issues) expect(issue).not.toMatch(/be be|ReferenceError|TypeError|undefined \(reading/);
  });

  it('no message anywhere in the schema says "must be be"', () => {
    const issues = issuesOf({
      'connections.yaml': `${CONNECTIONS}    retry: { attempts: 0, maxDelay: 1s }\n    rateLimit: { requests: 0, per: 1s }\n`,
      'jobs/x.yaml': `connection: api\nattempts: 0\ngrid:\n  path: /x\n  rows: $.data[*]\n  paginate: { page: { param: p }, maxPages: 0 }\noutput:\n  - webhook: { url: "http://127.0.0.1:9/h", batchSize: 0 }\n`,
    });
    expect(issues.length).toBeGreaterThanOrEqual(5);
    for (const issue of issues) expect(issue).not.toContain('be be');
  });
});

export const CONFIG_CORPUS_SIZE = CORPUS.length + 1;
