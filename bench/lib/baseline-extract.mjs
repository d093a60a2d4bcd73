// The extract bench's baseline: the minimal hand-written extract restq is compared with (undici
// request + JSON.parse + csv-stringify, no framework). Plain JavaScript, so the whole-process
// baseline (children/extract-baseline.mjs) runs it under bare node, and the in-process one
// (extract.ts) runs the very same code: the two baselines cannot drift apart.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { Agent, request } from 'undici';

/** Reads every page of `${baseUrl}/rows` with a bearer token into the CSV `file`; returns the row count. */
export async function baselineExtract(baseUrl, token, file) {
  const agent = new Agent();
  const csv = stringify({ record_delimiter: 'windows', eof: true });
  const done = pipeline(csv, createWriteStream(file));
  csv.write(['id', 'name', 'email', 'status', 'total', 'currency', 'created_at', 'note']);
  let rows = 0;
  let url = new URL('/rows?page=1', baseUrl);
  try {
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
  } finally {
    await agent.close();
  }
  return rows;
}
