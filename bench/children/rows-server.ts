// A loopback API for the extract and big-page benches, in its own process so serving does not
// compete with the client being measured for one event loop.
// argv: rows perPage ; GET /rows?page=N answers {data:[...], links:{next}} from pre-rendered pages;
// GET /count answers {"count":42} (the queue bench's scalar);
// GET /big?rows=N streams one page of N rows, {"data":[row,row,...]}, written as it is generated.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { benchRow } from '../lib/bench-row.js';

const totalRows = Number(process.argv[2] ?? 1000);
const perPage = Number(process.argv[3] ?? 100);
const pageCount = Math.ceil(totalRows / perPage);

const pages: Buffer[] = [];
for (let p = 1; p <= pageCount; p++) {
  const data = [];
  for (let i = (p - 1) * perPage + 1; i <= Math.min(totalRows, p * perPage); i++) data.push(benchRow(i));
  pages.push(Buffer.from(JSON.stringify({ data, links: { next: p < pageCount ? `/rows?page=${p + 1}` : null } })));
}

// The big page cycles through pre-rendered chunks of rows: generating 5 million rows on the fly
// would make the server, not restq, the bottleneck.
const CHUNK_ROWS = 1000;
const renderRows = (from: number, count: number) => Array.from({ length: count }, (_, k) => JSON.stringify(benchRow(from + k))).join(',');
const chunks = Array.from({ length: 20 }, (_, c) => renderRows(c * CHUNK_ROWS + 1, CHUNK_ROWS));

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/rows') {
    const page = pages[Number(url.searchParams.get('page') ?? 1) - 1];
    if (!page) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': page.length });
    return res.end(page);
  }
  if (url.pathname === '/count') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 12 });
    return res.end('{"count":42}');
  }
  if (url.pathname === '/big') {
    const rows = Number(url.searchParams.get('rows') ?? 1000);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"data":[');
    let i = 0;
    const write = () => {
      while (i < rows) {
        const n = Math.min(CHUNK_ROWS, rows - i);
        const chunk = n === CHUNK_ROWS ? chunks[(i / CHUNK_ROWS) % chunks.length]! : renderRows(i + 1, n);
        const ok = res.write(i === 0 ? chunk : `,${chunk}`);
        i += n;
        if (!ok) return void res.once('drain', write);
      }
      res.end('],"links":{"next":null}}');
    };
    return write();
  }
  res.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ url: `http://127.0.0.1:${port}`, rows: totalRows, pages: pageCount });
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
