// The floor under `restq validate`: Node plus the yaml library (bundled, as restq's CLI bundles it)
// parsing the same project files with the same options, and nothing else: no schema, no checks.
// The cold-start bench bundles this file with esbuild and runs it like the CLI. argv: configDir
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';

const dir = process.argv[2];
const files = ['connections.yaml', ...readdirSync(path.join(dir, 'jobs')).filter((f) => f.endsWith('.yaml')).map((f) => path.join('jobs', f))];
for (const file of files) {
  const doc = parseDocument(readFileSync(path.join(dir, file), 'utf8'), { lineCounter: new LineCounter(), prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
}
