import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { connectionsFileSchema, jobFileSchema } from './schema.js';

/** JSON Schema documents for editors (yaml-language-server), from the same zod schemas the loader uses. */
export function jsonSchemas(): Record<string, unknown> {
  const options = { io: 'input', unrepresentable: 'any' } as const;
  return {
    'connections.schema.json': { title: 'restq connections.yaml', ...z.toJSONSchema(connectionsFileSchema, options) },
    'job.schema.json': { title: 'restq jobs/*.yaml', ...z.toJSONSchema(jobFileSchema, options) },
  };
}

export function writeJsonSchemas(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  return Object.entries(jsonSchemas()).map(([file, schema]) => {
    const target = path.join(outDir, file);
    writeFileSync(target, `${JSON.stringify(schema, null, 2)}\n`);
    return target;
  });
}
