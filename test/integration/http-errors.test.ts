import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectionsYaml, tempProject, type TempProject } from '../helpers/temp-project.js';
import { json, startServer, type TestServer } from '../helpers/http-test-server.js';
import { runInProcess } from '../helpers/run-in-process.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;
const TOKEN = 'tok-Zx81-unique';
const KEY = 'key-Qw77-unique';

let server: TestServer;
const hanging: (() => void)[] = [];
beforeAll(async () => {
  server = await startServer({
    '/fail': (req, res) => json(res, { error: 'boom', echo: req.headers['authorization'], key: req.url.searchParams.get('api_key') }, 503),
    '/missing': (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end(`<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>${'x'.repeat(2000)}</body></html>`);
    },
    '/html': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<html><body>Maintenance\n  window</body></html>');
    },
    '/slow': (_req, res) => {
      // Never answers; the connection's timeout must fire.
      hanging.push(() => res.destroy());
    },
  });
});
afterAll(async () => {
  for (const stop of hanging) stop();
  await server.close();
});

let project: TempProject | undefined;
afterEach(() => project?.cleanup());

async function run(baseUrl: string, path: string, connection: string[] = []) {
  project = tempProject({
    // attempts: 1, so these tests stay about one failing request whatever retry policy applies.
    'connections.yaml': connectionsYaml(baseUrl, [`accessToken: ${TOKEN}`, `apiKey: ${KEY}`, 'retry: { attempts: 1 }', ...connection]),
    'jobs/extract.yaml': lines('connection: api', 'grid:', `  path: ${path}`, '  query: { api_key: "${API_KEY}" }', '  rows: $.data[*]', 'output:', '  - csv: out/x.csv'),
  });
  const result = await runInProcess(project.dir, 'extract', { env: { API_KEY: KEY } });
  expect(existsSync(project.file('out'))).toBe(false);
  return result;
}

describe('HTTP failures are clear errors without secrets', () => {
  it('non-2xx: method, URL without the key, status and a body excerpt', async () => {
    const { error } = await run(server.url, '/fail');
    expect(error).toMatchObject({ code: 'E_HTTP', status: 503, method: 'GET' });
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^GET ${server.url}/fail\\?api_key=\\[secret key-…\\(15\\)\\] answered 503: \\{"error":"boom"`));
    expect(message).not.toContain(TOKEN);
    expect(message).not.toContain(KEY);
    expect(message).toContain('[secret key-…(15)]');
  });

  it('an HTML error page: status and a short one-line excerpt', async () => {
    const { error } = await run(server.url, '/missing');
    expect(error).toMatchObject({ code: 'E_HTTP', status: 404, permanent: true });
    const message = (error as Error).message;
    expect(message).toMatch(/answered 404: <!DOCTYPE html> <html><head><title>404 Not Found<\/title>/);
    expect(message.length).toBeLessThan(500);
    expect(message).not.toContain('\n');
  });

  it('a 200 answer that is not JSON', async () => {
    const { error } = await run(server.url, '/html');
    expect(error).toMatchObject({ code: 'E_RESPONSE' });
    expect((error as Error).message).toMatch(
      new RegExp(`^GET ${server.url}/html\\?api_key=\\[secret key-…\\(15\\)\\] answered 200, but the response is not JSON \\(text/html; charset=utf-8, \\d+ bytes\\); first bytes: <html><body>Maintenance window</body></html>$`),
    );
  });

  it('a timeout names the request and the configured limit', async () => {
    const started = Date.now();
    const { error } = await run(server.url, '/slow', ['timeout: 300ms']);
    expect(error).toMatchObject({ code: 'E_TIMEOUT' });
    expect((error as Error).message).toMatch(new RegExp(`^GET ${server.url}/slow\\?api_key=\\[secret key-…\\(15\\)\\] timed out after 300 ms waiting for the response`));
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('an unreachable host: connection refused', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const { error } = await run(`http://127.0.0.1:${port}`, '/x');
    expect(error).toMatchObject({ code: 'E_NETWORK' });
    expect((error as Error).message).toMatch(new RegExp(`^GET http://127\\.0\\.0\\.1:${port}/x\\?api_key=\\[secret key-…\\(15\\)\\] failed: connection refused \\(ECONNREFUSED\\)$`));
    expect((error as Error).message).not.toContain(KEY);
  });
});
