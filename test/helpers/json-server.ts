import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  /** Names and values as sent, to spot a header sent twice. */
  rawHeaders: string[];
  body: string;
}

export type Handler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export interface TestServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Answers `body` as JSON with `status`. */
export function json(res: ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * An HTTP server on 127.0.0.1 and a free port. `routes` maps "METHOD /path" (or "/path" for
 * any method) to a handler; anything else is a JSON 404. Every request is recorded.
 */
export async function startServer(routes: Record<string, Handler>): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const recorded = { method: req.method ?? 'GET', url, headers: req.headers, rawHeaders: req.rawHeaders, body };
    requests.push(recorded);
    const handler = routes[`${recorded.method} ${url.pathname}`] ?? routes[url.pathname];
    try {
      if (handler) await handler(recorded, res);
      else json(res, { error: 'not_found', path: url.pathname }, 404);
    } catch (error) {
      if (!res.headersSent) json(res, { error: String(error) }, 500);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
