import { afterEach, describe, expect, it } from 'vitest';
import { expectConfigIssueAt } from '../helpers/config-issues.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

const CONNECTIONS = ['connections:', '  api:', '    baseUrl: http://127.0.0.1:9', '    accessToken: tok-abcdef', ''].join('\n');
const JOB = ['connection: api', 'grid:', '  path: /orders', '  rows: $.data[*]', ''].join('\n');

interface Case {
  name: string;
  files: Record<string, string>;
  env?: Record<string, string>;
  /** `file:line:col` of the issue. */
  at: string;
  message: RegExp;
}

const lines = (...l: string[]) => `${l.join('\n')}\n`;
/** connections.yaml with an authorization_code connection "api"; `line` is line 8, inside `authorize:`. */
const authorizeConnection = (line: string) =>
  lines(
    'connections:',
    '  api:',
    '    baseUrl: http://x',
    '    apiKey: client-1',
    '    grant: authorization_code',
    '    authorize:',
    '      url: https://auth.example.com/authorize',
    line,
    '    refresh: { endpoint: https://auth.example.com/token }',
  );

// Each case breaks one thing in an otherwise valid project; the issue must name the place.
const CASES: Case[] = [
  {
    name: 'unknown key in a connection, with a did-you-mean',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    bearrer: true') },
    at: 'connections.yaml:4:5',
    message: /^unknown key "bearrer" in connections\.api: did you mean "bearer"\?$/,
  },
  {
    name: 'misspelt required key: the did-you-mean replaces "is required"',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseURL: http://x') },
    at: 'connections.yaml:3:5',
    message: /^unknown key "baseURL" in connections\.api: did you mean "baseUrl"\?$/,
  },
  {
    name: 'unknown key at the top of a job file',
    files: { 'jobs/orders.yaml': lines('connection: api', 'shedule: "* * * * *"', 'grid:', '  path: /x', '  rows: $.data[*]') },
    at: 'jobs/orders.yaml:2:1',
    message: /^unknown key "shedule": did you mean "schedule"\?$/,
  },
  {
    name: 'unknown key inside grid',
    files: { 'jobs/orders.yaml': lines('connection: api', 'grid:', '  path: /x', '  row: $.data[*]') },
    at: 'jobs/orders.yaml:4:3',
    message: /^unknown key "row" in grid: did you mean "rows"\?$/,
  },
  {
    name: 'unknown key inside an output csv mapping',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), 'output:', '  - csv:', '      path: out/x.csv', '      delimter: ";"') },
    at: 'jobs/orders.yaml:8:7',
    message: /^unknown key "delimter" in output\[0\]\.csv: did you mean "delimiter"\?$/,
  },
  {
    name: 'a job naming a connection that does not exist',
    files: { 'jobs/orders.yaml': lines('connection: apj', 'grid:', '  path: /x', '  rows: $.data[*]') },
    at: 'jobs/orders.yaml:1:13',
    message: /^job "orders": connection "apj" is not defined in connections\.yaml: did you mean "api"\?$/,
  },
  {
    name: 'two jobs with the same name',
    files: { 'jobs/a.yaml': lines('name: same', JOB), 'jobs/b.yaml': lines('name: same', JOB) },
    at: 'jobs/b.yaml:1:7',
    message: /^job name "same" is already used by jobs\/a\.yaml: job names must be unique/,
  },
  {
    name: 'a name: clashing with another file stem',
    files: { 'jobs/orders.yaml': JOB, 'jobs/x.yaml': lines('name: orders', JOB) },
    at: 'jobs/x.yaml:1:7',
    message: /^job name "orders" is already used by jobs\/orders\.yaml/,
  },
  {
    name: 'grid and scalar both',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), 'scalar:', '  path: /count', '  value: $.count') },
    at: 'jobs/orders.yaml:5:1',
    message: /^job "orders": has both grid and scalar: keep exactly one/,
  },
  {
    name: 'neither grid nor scalar',
    files: { 'jobs/orders.yaml': lines('connection: api') },
    at: 'jobs/orders.yaml:1:1',
    message: /^job "orders": needs a query: add grid \(rows\) or scalar \(one value\), exactly one$/,
  },
  {
    name: 'a cron expression with 3 fields',
    files: { 'jobs/orders.yaml': lines('schedule: "* * *"', JOB) },
    at: 'jobs/orders.yaml:1:11',
    message: /^job "orders": invalid cron schedule "\* \* \*" \(3 fields\): use 5 fields .* or 6 with seconds first/,
  },
  {
    name: 'a cron expression out of range',
    files: { 'jobs/orders.yaml': lines('schedule: "61 * * * *"', JOB) },
    at: 'jobs/orders.yaml:1:11',
    message: /^job "orders": invalid cron schedule "61 \* \* \* \*" \(.*61.*\)/,
  },
  {
    name: 'an unknown timezone',
    files: { 'jobs/orders.yaml': lines('timezone: Europe/Berlinn', JOB) },
    at: 'jobs/orders.yaml:1:11',
    message: /^job "orders": unknown timezone "Europe\/Berlinn": use an IANA name such as UTC or Europe\/Berlin$/,
  },
  {
    name: 'a JSONPath without $',
    files: { 'jobs/orders.yaml': lines('connection: api', 'grid:', '  path: /x', '  rows: data[*]') },
    at: 'jobs/orders.yaml:4:9',
    message: /^job "orders": grid\.rows "data\[\*\]" is not a valid JSONPath: must start with "\$"/,
  },
  {
    name: 'an unbalanced JSONPath in columns',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), '  columns:', '    id: $.items[0') },
    at: 'jobs/orders.yaml:6:9',
    message: /^job "orders": grid\.columns\.id "\$\.items\[0" is not a valid JSONPath: missing "\]"$/,
  },
  {
    name: 'an invalid JSONPath in scalar.value',
    files: { 'jobs/count.yaml': lines('connection: api', 'scalar:', '  path: /count', '  value: $.a b') },
    at: 'jobs/count.yaml:4:10',
    message: /^job "count": scalar\.value "\$\.a b" is not a valid JSONPath: unexpected space/,
  },
  {
    name: 'securityProtocol SSL3, with the reason',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    securityProtocol: SSL3') },
    at: 'connections.yaml:4:5',
    message: /^connection "api": securityProtocol SSL3 is not supported: SSL 3\.0 is broken \(POODLE.*\) and Node's TLS cannot speak it; use Default/,
  },
  {
    name: 'an unknown securityProtocol',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    securityProtocol: TLS1.4') },
    at: 'connections.yaml:4:23',
    message: /^connections\.api\.securityProtocol must be one of "Default", "SSL3", "TLS1\.0", "TLS1\.1", "TLS1\.2", "TLS1\.3", got string "TLS1\.4"$/,
  },
  {
    name: 'a missing environment variable without default',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    accessToken: ${CRM_TOKEN_MISSING}') },
    at: 'connections.yaml:4:18',
    message: /^environment variable CRM_TOKEN_MISSING is not set: export it, add it to \.env beside connections\.yaml, or write \$\{CRM_TOKEN_MISSING:-default\}$/,
  },
  {
    name: 'a malformed ${',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    accessToken: ${1BAD}') },
    at: 'connections.yaml:4:18',
    message: /^malformed "\$\{": write \$\{NAME\}/,
  },
  {
    name: 'flow mapping with an unquoted JSONPath',
    files: { 'jobs/orders.yaml': lines('connection: api', 'grid: { path: /x, rows: $.data[*] }') },
    at: 'jobs/orders.yaml:2:31',
    message: /^YAML syntax error: .*; inside \{ … \} or \[ … \] the characters \[ \] \{ \} , must be quoted: write rows: "\$\.data\[\*\]"/,
  },
  {
    name: 'flow mapping with an unquoted csv path template',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), 'output:', '  - csv: { path: out/{job}.csv }') },
    at: 'jobs/orders.yaml:6:22',
    message: /^YAML syntax error: .*must be quoted: write rows: "\$\.data\[\*\]" and csv: "out\/\{job\}\.csv"/,
  },
  {
    name: 'an unquoted {{template}} (a YAML mapping, not a string)',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), '  query:', '    since: {{lastSuccessAt}}') },
    at: 'jobs/orders.yaml:6:12',
    message: /^grid\.query\.since .*got a mapping; a value starting with \{ or \[ is a YAML mapping or list: quote it/,
  },
  {
    name: 'a duplicate key',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), '  rows: $.items[*]') },
    at: 'jobs/orders.yaml:5:3',
    message: /^YAML syntax error: duplicate key/,
  },
  {
    name: 'wrong type: a boolean',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    bearer: yes') },
    at: 'connections.yaml:4:13',
    message: /^connections\.api\.bearer must be true or false, got string "yes"$/,
  },
  {
    name: 'wrong type: a duration',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    timeout: fast') },
    at: 'connections.yaml:4:14',
    message: /^connections\.api\.timeout invalid duration "fast": use a number with a unit, e\.g\. 500ms, 30s/,
  },
  {
    name: 'a run timeout longer than a Node.js timer can wait (it would fire at once)',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), 'timeout: 30d') },
    at: 'jobs/orders.yaml:5:10',
    message: /^timeout is longer than 24 days: restq waits with Node\.js timers, which cannot wait longer than 24\.8 days \(2147483647 ms\)$/,
  },
  {
    name: 'wrong type: a number',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), 'attempts: many') },
    at: 'jobs/orders.yaml:5:11',
    message: /^attempts must be a number, got string "many"$/,
  },
  {
    name: 'wrong type: a list where a mapping belongs',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), '  columns: [id, name]') },
    at: 'jobs/orders.yaml:5:12',
    message: /^grid\.columns must be a mapping \(key: value\), got a list$/,
  },
  {
    name: 'wrong type: a secret never shows its value',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    apiSecret: 987654321') },
    at: 'connections.yaml:4:16',
    message: /^connections\.api\.apiSecret must be a string, got a number$/,
  },
  {
    name: 'wrong type: output sink neither string nor mapping',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), 'output:', '  - csv: 42') },
    at: 'jobs/orders.yaml:6:10',
    message: /^output\[0\]\.csv must be a string or a mapping \(key: value\), got number 42$/,
  },
  {
    name: 'a required key missing points at its parent',
    files: { 'connections.yaml': lines('connections:', '  api:', '    bearer: true') },
    at: 'connections.yaml:2:3',
    message: /^connections\.api\.baseUrl is required$/,
  },
  {
    name: 'baseUrl that is not a URL',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: api.example.com') },
    at: 'connections.yaml:3:14',
    message: /^connections\.api\.baseUrl must be an absolute http\(s\) URL/,
  },
  {
    name: 'an unknown {{template}} name',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), '  query:', '    since: "{{lastSuccess}}"') },
    at: 'jobs/orders.yaml:6:12',
    message: /^job "orders": grid\.query\.since: unknown template value \{\{lastSuccess\}\}: use one of/,
  },
  {
    name: 'an unknown placeholder in a csv path',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), 'output:', '  - csv: out/{jobname}.csv') },
    at: 'jobs/orders.yaml:6:10',
    message: /^job "orders": csv path "out\/\{jobname\}\.csv" uses unknown placeholder \{jobname\}: use \{job\}, \{date\}, \{time\}, \{runId\}$/,
  },
  {
    name: 'two sinks in one output item',
    files: { 'jobs/orders.yaml': lines(JOB.trimEnd(), 'output:', '  - csv: out/x.csv', '    stdout: { format: csv }') },
    at: 'jobs/orders.yaml:6:5',
    message: /^job "orders": output\[0\] has csv and stdout: make each sink its own list item/,
  },
  {
    name: 'misspelt key inside authorize, with a did-you-mean',
    files: {
      'connections.yaml': authorizeConnection('      redirectPrt: 8765'),
    },
    at: 'connections.yaml:8:7',
    message: /^unknown key "redirectPrt" in connections\.api\.authorize: did you mean "redirectPort"\?$/,
  },
  {
    name: 'misspelt key inside jwt, with a did-you-mean',
    files: {
      'connections.yaml': lines(
        'connections:',
        '  api:',
        '    baseUrl: http://x',
        '    grant: jwt_bearer',
        '    jwt:',
        '      algorithm: HS256',
        '      issuer: svc',
        '      audiance: https://auth.example.com/token',
        '    apiSecret: s3cr3t-value',
        '    refresh: { endpoint: https://auth.example.com/token }',
      ),
    },
    at: 'connections.yaml:8:7',
    message: /^unknown key "audiance" in connections\.api\.jwt: did you mean "audience"\?$/,
  },
  {
    name: 'an unknown jwt algorithm lists the choices',
    files: {
      'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    apiSecret: s3cr3t-value', '    grant: jwt_bearer', '    jwt: { algorithm: HS512, issuer: svc }', '    refresh: { endpoint: https://auth.example.com/token }'),
    },
    at: 'connections.yaml:6:23',
    message: /RS256.*ES256.*PS256.*HS256/,
  },
  {
    name: 'grant authorization_code without an authorize block',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    apiKey: client-1', '    grant: authorization_code', '    refresh: { endpoint: https://auth.example.com/token }') },
    at: 'connections.yaml:5:5',
    message: /^connection "api": grant authorization_code needs an authorize block/,
  },
  {
    name: 'authorize.params may not override what PKCE and the loopback redirect set',
    files: {
      'connections.yaml': authorizeConnection('      params: { redirect_uri: "http://localhost/cb" }'),
    },
    at: 'connections.yaml:8:17',
    message: /^connection "api": authorize\.params\.redirect_uri is set by restq/,
  },
  {
    name: 'a jwt block on a connection whose grant is not jwt_bearer',
    files: { 'connections.yaml': lines('connections:', '  api:', '    baseUrl: http://x', '    accessToken: tok-abcdef', '    jwt: { issuer: svc }') },
    at: 'connections.yaml:5:5',
    message: /^connection "api": jwt is read by grant: jwt_bearer only/,
  },
];

describe('configuration errors name the file, line and column', () => {
  let project: TempProject | undefined;
  afterEach(() => project?.cleanup());

  it.each(CASES)('$name', ({ files, env, at, message }) => {
    project = tempProject({ 'connections.yaml': CONNECTIONS, 'jobs/orders.yaml': JOB, ...files });
    const { error, issue } = expectConfigIssueAt(project.dir, env ?? {}, message, at);
    expect(error.message).toContain(`${at} ${issue.message}`);
  });
});
