import path from 'node:path';
import { writeJsonSchemas } from '../config/json-schema.js';

/** `restq schema [--out DIR]`: JSON Schema files for editors; the paths written on stderr. */
export function schemaCli(options: { out: string }): void {
  for (const file of writeJsonSchemas(path.resolve(options.out))) process.stderr.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}
