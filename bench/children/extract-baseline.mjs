// The extract bench's baseline as a whole process: the minimal hand-written extract (undici
// request + JSON.parse + csv-stringify, no framework), started like `restq run` is, so both
// sides pay their start-up. argv: baseUrl token file ; prints the row count on stdout.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { Agent, request } from 'undici';

const [baseUrl, token, file] = process.argv.slice(2);
const agent = new Agent();
const csv = stringify({ record_delimiter: 'windows', eof: true });
const done = pipeline(csv, createWriteStream(file));
csv.write(['id', 'name', 'email', 'status', 'total', 'currency', 'created_at', 'note']);
let rows = 0;
let url = new URL('/rows?page=1', baseUrl);
while (url) {
  const response = await request(url, { dispatcher: agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  if (response.statusCode !== 200) throw new Error(`baseline: ${url} answered ${response.statusCode}`);
  const body = JSON.parse(await response.body.text());
  for (const r of body.data) {
    rows++;
    if (!csv.write([r.id, r.name, r.email, r.status, r.amount.total, r.amount.currency, r.created_at, r.note])) await once(csv, 'drain');
  }
  url = body.links.next ? new URL(body.links.next, url) : undefined;
}
csv.end();
await done;
await agent.close();
console.log(rows);
