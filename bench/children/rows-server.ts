// A loopback API for the extract and big-page benches, in its own process so serving does not
// compete with the client being measured for one event loop.
// argv: rows perPage ; GET /rows?page=N answers {data:[...], links:{next}} from pre-rendered pages;
// GET /big?bytes=N streams one page of about N bytes: {"data":[row,row,...]}.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const totalRows = Number(process.argv[2] ?? 1000);
const perPage = Number(process.argv[3] ?? 100);
const pageCount = Math.ceil(totalRows / perPage);

export function benchRow(i: number): Record<string, unknown> {
  return {
    id: i,
    name: `Customer ${i}`,
    email: `customer${i}@example.com`,
    status: i % 3 === 0 ? 'open' : 'closed',
    amount: { total: Math.round(i * 137.31) / 100, currency: 'EUR' },
    created_at: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    note: i % 7 === 0 ? 'said "hello", left' : 'ok',
  };
}

const pages: Buffer[] = [];
for (let p = 1; p <= pageCount; p++) {
  const data = [];
  for (let i = (p - 1) * perPage + 1; i <= Math.min(totalRows, p * perPage); i++) data.push(benchRow(i));
  pages.push(Buffer.from(JSON.stringify({ data, links: { next: p < pageCount ? `/rows?page=${p + 1}` : null } })));
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/rows') {
    const page = pages[Number(url.searchParams.get('page') ?? 1) - 1];
    if (!page) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': page.length });
    return res.end(page);
  }
  if (url.pathname === '/big') {
    const target = Number(url.searchParams.get('bytes') ?? 1e6);
    res.writeHead(200, { 'content-type': 'application/json' });
    let written = 0;
    let i = 0;
    const chunkRows = 2000;
    const write = () => {
      while (written < target) {
        const parts: string[] = [];
        for (let k = 0; k < chunkRows; k++) parts.push(JSON.stringify(benchRow(++i)));
        const chunk = `${i === chunkRows ? '{"data":[' : ','}${parts.join(',')}`;
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', write);
      }
      res.end(']}');
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
