import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { connectionsFileSchema, jobFileSchema } from './schema.js';

/** A whole-value `${VAR}` / `${VAR:-default}`: the loader turns it into a number or boolean later. */
const ENV_REFERENCE = '^\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}$';

type JsonSchemaNode = Record<string, unknown>;

// Editors see the YAML before interpolation, where `port: ${PROXY_PORT}` is a string.
function allowEnvReference(node: JsonSchemaNode): void {
  if (node['type'] !== 'number' && node['type'] !== 'integer' && node['type'] !== 'boolean') return;
  const { default: fallback, description, ...typed } = node;
  for (const key of Object.keys(node)) delete node[key];
  Object.assign(
    node,
    description === undefined ? {} : { description },
    fallback === undefined ? {} : { default: fallback },
    { anyOf: [typed, { type: 'string', pattern: ENV_REFERENCE }] },
  );
}

/**
 * JSON Schema (draft-07, what yaml-language-server and most editors read best) for
 * connections.yaml and jobs/*.yaml, from the same zod schemas the loader uses.
 */
export function jsonSchemas(): Record<string, JsonSchemaNode> {
  const options = {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-7',
    override: (ctx: { jsonSchema: JsonSchemaNode }) => allowEnvReference(ctx.jsonSchema),
  } as const;
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
