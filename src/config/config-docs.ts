import { writeFileSync } from 'node:fs';
import { jsonSchemas } from './json-schema.js';

type Node = Record<string, unknown>;

interface Row {
  key: string;
  type: string;
  required: boolean;
  description: string;
}

const isEnvReference = (node: Node) => node['type'] === 'string' && typeof node['pattern'] === 'string' && String(node['pattern']).startsWith('^\\$\\{');

function typeOf(node: Node): string {
  if (Array.isArray(node['enum'])) return (node['enum'] as unknown[]).map((v) => `\`${String(v)}\``).join(' \\| ');
  if (Array.isArray(node['anyOf'])) {
    const members = (node['anyOf'] as Node[]).filter((m) => !isEnvReference(m));
    return [...new Set(members.map(typeOf))].join(' \\| ');
  }
  const type = node['type'];
  if (Array.isArray(type)) return type.join(' \\| ');
  if (type === 'string' && node['format'] === 'uri') return 'URL';
  if (type === 'object' && !node['properties'] && node['additionalProperties']) return 'map';
  if (type === 'array') return 'list';
  return typeof type === 'string' ? type : 'any';
}

/** The object schemas a property holds (itself, a union member, list items, map values). */
function objectsIn(node: Node): { node: Node; suffix: string }[] {
  if (node['properties']) return [{ node, suffix: '' }];
  if (Array.isArray(node['anyOf'])) return (node['anyOf'] as Node[]).flatMap(objectsIn);
  if (node['type'] === 'array' && node['items']) return objectsIn(node['items'] as Node).map((o) => ({ ...o, suffix: `[]${o.suffix}` }));
  const values = node['additionalProperties'];
  if (node['type'] === 'object' && values && typeof values === 'object') return objectsIn(values as Node).map((o) => ({ ...o, suffix: `.NAME${o.suffix}` }));
  return [];
}

function rows(node: Node, prefix: string): Row[] {
  const required = new Set((node['required'] as string[] | undefined) ?? []);
  const out: Row[] = [];
  for (const [key, child] of Object.entries((node['properties'] as Record<string, Node> | undefined) ?? {})) {
    const path = `${prefix}${key}`;
    out.push({ key: path, type: typeOf(child), required: required.has(key), description: String(child['description'] ?? '') });
    for (const inner of objectsIn(child)) out.push(...rows(inner.node, `${path}${inner.suffix}.`));
  }
  return out;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(title: string, intro: string, schema: Node): string {
  const lines = [`## ${title}`, '', intro, '', '| Key | Type | Required | Description |', '| --- | --- | --- | --- |'];
  for (const row of rows(schema, '')) {
    lines.push(`| \`${row.key}\` | ${row.type} | ${row.required ? 'yes' : ''} | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

/**
 * docs/configuration.md, generated from the same zod schemas the loader uses (through their
 * JSON Schema, so the descriptions editors show on hover are the ones documented here).
 */
export function configurationMarkdown(): string {
  const schemas = jsonSchemas();
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs`; do not edit by hand (a test compares). -->',
    '',
    'A restq project is `connections.yaml` and `jobs/*.yaml` (one job per file; the job name is the file name',
    'without `.yaml` unless `name:` is set). `--config DIR` (default: the current directory, or `RESTQ_CONFIG_DIR`)',
    'points at it. `restq validate` checks everything and reports `file:line:col message`.',
    '',
    '- `${VAR}` anywhere in a string value is replaced from the environment after YAML parsing (`${VAR:-default}`',
    '  gives a default, `$${` escapes); a `.env` file beside connections.yaml is read if present. Where a number or',
    '  boolean goes, a whole-value `${VAR}` is accepted too.',
    '- Durations are a number with a unit: `500ms`, `30s`, `10m`, `1h`.',
    '- Inside YAML flow collections (`{ … }`, `[ … ]`) quote values holding `[ ] { } ,`: `rows: "$.data[*]"`,',
    '  `csv: "out/{job}.csv"`.',
    '- `NAME` in a key stands for a name you choose; `[]` for each item of a list.',
    '- Editors: `restq schema` writes `schema/connections.schema.json` and `schema/job.schema.json`; a first line',
    '  `# yaml-language-server: $schema=./schema/connections.schema.json` gives completion and these descriptions on hover.',
    '',
    table('connections.yaml', 'All connections of the project: base URL, authentication (OAuth2 refresh or client credentials), TLS, proxy, retries and rate limit.', schemas['connections.schema.json']!),
    '',
    table('jobs/NAME.yaml', 'One job: its connection, schedule, exactly one of `grid` or `scalar`, and its outputs.', schemas['job.schema.json']!),
    '',
    'Templates: `{{params.NAME}}`, `{{now}}`, `{{date}}` (YYYY-MM-DD), `{{runId}}` and `{{lastSuccessAt}}` work in',
    '`path`, `query`, `headers` and `body`; output paths take `{job}`, `{date}`, `{time}` and `{runId}`.',
    '',
  ].join('\n');
}

export function writeConfigurationDocs(file: string): void {
  writeFileSync(file, configurationMarkdown());
}
