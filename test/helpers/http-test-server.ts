import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

/** One request as the test server received it. */
export interface RecordedRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  /** Names and values as sent, to spot a header sent twice. */
  rawHeaders: string[];
  body: string;
}

export interface TestServer {
  url: string;
  /** Every request, in arrival order. */
  requests: RecordedRequest[];
  /** Requests whose response has not finished yet. */
  readonly inFlight: number;
  /** The most requests that were in flight at once. */
  readonly maxInFlight: number;
  close(): Promise<void>;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => unknown;
export type RouteHandler = (req: RecordedRequest, res: ServerResponse) => unknown;

const bodies = new WeakMap<IncomingMessage, Buffer>();

/**
 * The one loopback test server: real HTTP on 127.0.0.1 and a random port, with a request log
 * and an in-flight counter. The body is read before `handler` runs (readRequestBody returns it).
 */
export async function startTestServer(handler: RequestHandler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => (inFlight -= 1));
    const handle = async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      bodies.set(req, body);
      // A handler that reads the request itself (`for await (const chunk of req)`) still gets the body.
      Object.defineProperty(req, Symbol.asyncIterator, { value: () => Readable.from(body.length ? [body] : [])[Symbol.asyncIterator]() });
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', 'http://127.0.0.1'),
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: body.toString(),
      };
      requests.push(recorded);
      await handler(req, res, recorded);
    };
    handle().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The same server routed: `routes` maps "METHOD /path" (or "/path" for any method) to a
 * handler; anything else is a JSON 404.
 */
export function startServer(routes: Record<string, RouteHandler>): Promise<TestServer> {
  return startTestServer(async (_req, res, recorded) => {
    const route = routes[`${recorded.method} ${recorded.url.pathname}`] ?? routes[recorded.url.pathname];
    if (route) await route(recorded, res);
    else json(res, { error: 'not_found', path: recorded.url.pathname }, 404);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Answers `body` as JSON with `status` (argument order of the routed handlers). */
export function json(res: ServerResponse, body: unknown, status = 200): void {
  sendJson(res, status, body);
}

/** The request body (already read by the server). */
export async function readRequestBody(req: IncomingMessage): Promise<Buffer> {
  const read = bodies.get(req);
  if (read) return read;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
