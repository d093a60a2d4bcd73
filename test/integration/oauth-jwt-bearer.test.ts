import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempConfigDir, type ConfigDir } from '../helpers/config-dir.js';
import { startJwtBearerServer, type JwtBearerServer } from '../helpers/jwt-bearer-server.js';
import { scanKeysAndValues } from '../helpers/redis-scan.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const HS_SECRET = `hs-${randomBytes(24).toString('hex')}`;
const pem = (key: KeyObject, type: 'pkcs1' | 'pkcs8' | 'sec1') => key.export({ format: 'pem', type }) as string;
const RSA_PKCS1 = pem(rsa.privateKey, 'pkcs1');
const RSA_PKCS8 = pem(rsa.privateKey, 'pkcs8');
const EC_SEC1 = pem(ec.privateKey, 'sec1');
/** The base64 body lines of every private key: none may ever be printed. */
const KEY_LINES = [RSA_PKCS1, RSA_PKCS8, EC_SEC1].flatMap((p) => p.split('\n').filter((l) => l && !l.startsWith('-----')));

let server: JwtBearerServer;
let project: ConfigDir;

beforeAll(async () => {
  server = await startJwtBearerServer([
    { issuer: 'svc-rsa', algorithm: 'RS256', key: rsa.publicKey, keyId: 'rsa-2026', subject: 'etl@example.com', claims: { scope: 'orders.read' } },
    { issuer: 'svc-pss', algorithm: 'PS256', key: rsa.publicKey, subject: 'svc-pss' },
    { issuer: 'svc-ec', algorithm: 'ES256', key: ec.publicKey, keyId: 'ec-1', subject: 'svc-ec' },
    { issuer: 'svc-hs', algorithm: 'HS256', key: new TextEncoder().encode(HS_SECRET), subject: 'svc-hs' },
  ]);
  const connection = (name: string, jwt: string[], extra: string[] = []) => [
    `  ${name}:`,
    `    baseUrl: ${server.url}/api`,
    '    grant: jwt_bearer',
    ...extra,
    '    jwt:',
    ...jwt.map((l) => `      ${l}`),
    `    refresh: { endpoint: ${server.tokenUrl} }`,
    '    retry: { attempts: 1 }',
  ];
  const job = (conn: string) => lines(`connection: ${conn}`, 'grid:', '  path: /whoami', '  rows: $.data[*]', 'output:', '  - stdout:');
  project = tempConfigDir({
    'connections.yaml': lines(
      'connections:',
      // PKCS#1 inline from the environment, line breaks written as \n as many secret stores keep them.
      ...connection('rsa', ['privateKey: ${RSA_KEY}', 'algorithm: RS256', 'issuer: svc-rsa', 'subject: etl@example.com', 'lifetime: 2m', 'claims: { scope: orders.read }', 'keyId: rsa-2026']),
      // PKCS#8 from a file, PS256; issuer from apiKey, subject defaults to the issuer.
      ...connection('pss', ['privateKey: keys/rsa-pkcs8.pem', 'algorithm: PS256'], ['    apiKey: svc-pss']),
      ...connection('ec', ['privateKey: keys/ec.pem', 'algorithm: ES256', 'issuer: svc-ec', 'keyId: ec-1']),
      ...connection('hs', ['algorithm: HS256', 'issuer: svc-hs'], ['    apiSecret: ${HS_SECRET}']),
    ),
    '.env': lines(`RSA_KEY=${RSA_PKCS1.trim().replace(/\n/g, '\\n')}`, `HS_SECRET=${HS_SECRET}`),
    'keys/rsa-pkcs8.pem': RSA_PKCS8,
    'keys/ec.pem': EC_SEC1,
    'jobs/rsa.yaml': job('rsa'),
    'jobs/pss.yaml': job('pss'),
    'jobs/ec.yaml': job('ec'),
    'jobs/hs.yaml': job('hs'),
  });
});
afterAll(async () => {
  project?.cleanup();
  await server?.close();
});

function expectNoSecrets(result: CliResult, extra: string[] = []): void {
  const all = `${result.stdout}\n${result.stderr}`;
  for (const secret of [...KEY_LINES, HS_SECRET, ...server.requests.map((r) => r.assertion), ...server.issued, ...extra]) {
    expect(all).not.toContain(secret);
  }
}

describe('grant jwt_bearer (RFC 7523) against a token endpoint that verifies signature and claims', { timeout: 180_000 }, () => {
  it('RS256 (PKCS#1 inline), PS256 (PKCS#8 file), ES256 (SEC1 file) and HS256 (apiSecret) each buy a token the API accepts', async () => {
    for (const name of ['rsa', 'pss', 'ec', 'hs']) {
      const before = server.requests.length;
      const result = await runCli(['--config', project.dir, '--log-level', 'debug', 'run', name]);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ ok: true });
      const made = server.requests.slice(before);
      expect(made.map((r) => r.ok), JSON.stringify(made.map((r) => r.error))).toEqual([true]);
      expectNoSecrets(result);
    }
    const rsaClaims = server.requests.find((r) => r.payload?.iss === 'svc-rsa')!.payload!;
    expect(rsaClaims).toMatchObject({ iss: 'svc-rsa', sub: 'etl@example.com', aud: server.tokenUrl, scope: 'orders.read' });
    expect(rsaClaims.exp! - rsaClaims.iat!).toBe(120);
    const pssClaims = server.requests.find((r) => r.payload?.iss === 'svc-pss')!.payload!;
    expect(pssClaims.sub).toBe('svc-pss');
    expect(pssClaims.exp! - pssClaims.iat!).toBe(300);
  });

  it('a fresh assertion (new jti) for every token request', async () => {
    const before = server.requests.length;
    for (let i = 0; i < 2; i++) {
      const result = await runCli(['--config', project.dir, 'token', 'ec', '--refresh']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('grant:           jwt_bearer');
      expectNoSecrets(result);
    }
    const made = server.requests.slice(before);
    expect(made.map((r) => r.ok)).toEqual([true, true]);
    expect(new Set(made.map((r) => r.payload!.jti)).size).toBe(2);
    expect(made[0]!.assertion).not.toBe(made[1]!.assertion);
  });

  it('the access token is cached and shared by workers: two processes at once make one token request, a third none', async () => {
    const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    const prefix = `restq-jwt-${randomUUID()}`;
    const env = { REDIS_URL: redisUrl, RESTQ_PREFIX: prefix, RESTQ_SECRET_KEY: randomBytes(32).toString('hex') };
    const before = server.requests.length;
    const [a, b] = await Promise.all([runCli(['--config', project.dir, 'run', 'rsa'], { env }), runCli(['--config', project.dir, 'run', 'rsa'], { env })]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(server.requests.length - before).toBe(1);
    const c = await runCli(['--config', project.dir, 'run', 'rsa'], { env });
    expect(c.code, c.stderr).toBe(0);
    expect(server.requests.length - before).toBe(1);
    const redis = new Redis(redisUrl);
    try {
      const dump = (await scanKeysAndValues(redis, `${prefix}*`)).join('\n');
      expect(dump).toContain('rsa');
      for (const secret of [...server.issued, ...server.requests.map((r) => r.assertion), ...KEY_LINES]) expect(dump).not.toContain(secret);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });

  it('key problems are validate errors naming the connection and never the key', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const broken = `${RSA_PKCS8.split('\n').slice(0, 6).join('\n')}\n-----END PRIVATE KEY-----\n`;
    const bad = tempConfigDir({
      'connections.yaml': lines(
        'connections:',
        ...[
          ['notpem', 'privateKey: ${NOT_PEM}', 'algorithm: RS256'],
          ['wrongtype', 'privateKey: keys/ec.pem', 'algorithm: RS256'],
          ['wrongcurve', 'privateKey: ${P384}', 'algorithm: ES256'],
          ['public', 'privateKey: ${PUBLIC}', 'algorithm: PS256'],
          ['weak', 'privateKey: ${WEAK}', 'algorithm: RS256'],
          ['garbled', 'privateKey: ${BROKEN}', 'algorithm: RS256'],
          ['missingfile', 'privateKey: keys/none.pem', 'algorithm: ES256'],
          ['hsnosecret', 'algorithm: HS256'],
          ['reserved', 'privateKey: keys/ec.pem', 'algorithm: ES256', 'claims: { aud: other }'],
        ].flatMap(([name, ...jwt]) => [`  ${name}:`, '    baseUrl: https://erp.example.com', '    grant: jwt_bearer', '    jwt:', '      issuer: svc', ...jwt.map((l) => `      ${l}`), '    refresh: { endpoint: https://erp.example.com/token }']),
      ),
      '.env': lines(
        `NOT_PEM=${KEY_LINES[3]}`,
        `P384=${pem(p384.privateKey, 'pkcs8').trim().replace(/\n/g, '\\n')}`,
        `PUBLIC=${(rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string).trim().replace(/\n/g, '\\n')}`,
        `WEAK=${pem(small.privateKey, 'pkcs8').trim().replace(/\n/g, '\\n')}`,
        `BROKEN=${broken.trim().replace(/\n/g, '\\n')}`,
      ),
      'keys/ec.pem': EC_SEC1,
    });
    try {
      const result = await runCli(['--config', bad.dir, 'validate']);
      expect(result.code).toBe(1);
      const err = result.stderr;
      expect(err).toMatch(/connections\.yaml:\d+:\d+ connection "notpem": jwt\.privateKey is not PEM text/);
      expect(err).toMatch(/connection "wrongtype": jwt\.privateKey \(file .*ec\.pem\) is an EC key on prime256v1: algorithm RS256 needs an RSA private key/);
      expect(err).toMatch(/connection "wrongcurve": jwt\.privateKey is an EC key on secp384r1: algorithm ES256 needs an EC private key on the P-256 curve/);
      expect(err).toMatch(/connection "public": jwt\.privateKey holds a public key or certificate/);
      expect(err).toMatch(/connection "weak": jwt\.privateKey is an RSA key of 1024 bits: algorithm RS256 needs an RSA private key \(2048 bits or more\)/);
      expect(err).toMatch(/connection "garbled": jwt\.privateKey does not parse as a PEM private key/);
      expect(err).toMatch(/connection "missingfile": jwt\.privateKey is not PEM text .* no file of that name exists/);
      expect(err).toMatch(/connection "hsnosecret": algorithm HS256 signs the assertion with apiSecret, which is not set/);
      expect(err).toMatch(/connection "reserved": jwt\.claims\.aud is a claim restq sets itself: use jwt\.audience/);
      const allLines = [...KEY_LINES, ...[p384.privateKey, small.privateKey].flatMap((k) => pem(k, 'pkcs8').split('\n').filter((l) => l && !l.startsWith('-----')))];
      for (const line of allLines) expect(`${result.stdout}${err}`).not.toContain(line);
    } finally {
      bad.cleanup();
    }
  });
});
