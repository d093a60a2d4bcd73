import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationMarkdown } from '../../src/config/config-docs.js';
import { jsonSchemas } from '../../src/config/json-schema.js';

const read = (file: string) => readFileSync(file, 'utf8');
const docs = readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** Every property of every object schema, wherever it stands, with its path. */
function properties(node: unknown, where: string): { where: string; node: Record<string, unknown> }[] {
  if (!node || typeof node !== 'object') return [];
  if (Array.isArray(node)) return node.flatMap((n, i) => properties(n, `${where}[${i}]`));
  const record = node as Record<string, unknown>;
  const own = Object.entries((record['properties'] as Record<string, Record<string, unknown>> | undefined) ?? {}).map(([key, child]) => ({ where: `${where}.${key}`, node: child }));
  return [...own, ...Object.entries(record).flatMap(([key, child]) => properties(child, `${where}/${key}`))];
}

describe('documentation', () => {
  it('every key of the JSON Schema has a description (editors show it on hover)', () => {
    const all = Object.entries(jsonSchemas()).flatMap(([file, schema]) => properties(schema, file));
    expect(all.length).toBeGreaterThan(60);
    const missing = all.filter((p) => typeof p.node['description'] !== 'string' || String(p.node['description']).trim().length < 10).map((p) => p.where);
    expect(missing).toEqual([]);
  });

  it('the committed schema/*.json and docs/configuration.md are what `npm run docs` writes now', () => {
    for (const [file, schema] of Object.entries(jsonSchemas())) {
      expect(read(path.join('schema', file)), `schema/${file} is stale: run npm run docs`).toBe(`${JSON.stringify(schema, null, 2)}\n`);
    }
    expect(read('docs/configuration.md'), 'docs/configuration.md is stale: run npm run docs').toBe(configurationMarkdown());
  });

  it('docs/troubleshooting.md explains every error code raised in src/', () => {
    const codes = new Set(sourceFiles('src').flatMap((file) => [...read(file).matchAll(/['"](E_[A-Z][A-Z_]+)['"]/g)].map((m) => m[1]!)));
    expect(codes.size).toBeGreaterThan(10);
    const troubleshooting = read('docs/troubleshooting.md');
    const rows = new Set([...troubleshooting.matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((m) => m[1]!));
    expect([...codes].filter((code) => !rows.has(code)).sort()).toEqual([]);
  });

  it('every relative link in README.md and docs/ points at a file that exists, and every #anchor at a heading', () => {
    const broken: string[] = [];
    const anchors = (file: string) =>
      new Set(
        [...read(file).replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
          m[1]!
            .toLowerCase()
            .replace(/[^\p{L}\p{N} _-]/gu, '')
            .replace(/ /g, '-'),
        ),
      );
    for (const file of ['README.md', ...docs]) {
      for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue;
        const [relative, anchor] = target!.split('#') as [string, string | undefined];
        const resolved = relative ? path.join(path.dirname(file), relative) : file;
        if (!existsSync(resolved)) broken.push(`${file}: ${target}`);
        else if (anchor && statSync(resolved).isFile() && !anchors(resolved).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('README.md is short, has the two quick-start commands and ends on content', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
    expect(readme).toContain('```sh\nnpm install && npm run demo\nnpm test\n```');
    const last = readme.trimEnd().split('\n').at(-1)!;
    expect(last).not.toMatch(/^#/);
    for (const file of docs) expect(readme, `README links ${file}`).toContain(`](${file})`);
  });
});
