import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The layers of src/, lowest first (docs/architecture.md). A module may import its own layer and
// the layers below it, never one above: data goes down, calls never climb back up. Dynamic
// imports count too. A folder not listed here (a new one) sits on top: nothing listed may import it.
const LAYERS: string[][] = [
  ['errors'],
  ['expr', 'run-id.ts', 'heap-tuning.ts', 'file-lock.ts', 'atomic-write.ts'],
  ['config'],
  ['log'],
  ['redis'],
  ['runtime'],
  ['http'],
  ['auth'],
  ['query'],
  ['sinks'],
  ['state'],
  ['ops'],
  ['runner.ts', 'run-deadline.ts'],
  ['queue', 'schedule'],
  ['console'],
  ['commands', 'demo'],
  ['cli.ts'],
];

const SRC = path.resolve('src');
const TOP = LAYERS.length;

function layerOf(unit: string): number {
  const index = LAYERS.findIndex((layer) => layer.includes(unit));
  return index === -1 ? TOP : index;
}

/** `auth` for src/auth/x.ts, `runner.ts` for src/runner.ts. */
function unitOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!.replace(/\.js$/, '.ts');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Every import of one src/ unit by another, as "from → to (file)". */
function crossImports(): { from: string; to: string; file: string; upward: boolean }[] {
  return sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(IMPORT)].flatMap((match) => {
      const from = unitOf(file);
      const to = unitOf(path.resolve(path.dirname(file), match[1]!));
      if (from === to) return [];
      return [{ from, to, file: path.relative(SRC, file), upward: layerOf(to) > layerOf(from) }];
    }),
  );
}

describe('src/ layering', () => {
  it('finds the imports it judges (the scan is not blind)', () => {
    const all = crossImports();
    expect(all.length).toBeGreaterThan(100);
    expect(all).toContainEqual(expect.objectContaining({ from: 'http', to: 'config', upward: false }));
  });

  it('has no upward import', () => {
    const upward = crossImports()
      .filter((i) => i.upward)
      .map((i) => `${i.file} imports ${i.to}/ (layer ${layerOf(i.to)}) from ${i.from}/ (layer ${layerOf(i.from)})`);
    expect(upward).toEqual([]);
  });

  it('keeps the five imports issue 13 named gone: ops → auth/http, config → query, http → auth, log → ops, file-lock → http', () => {
    const edges = new Set(crossImports().map((i) => `${i.from}→${i.to}`));
    for (const forbidden of ['ops→auth', 'ops→http', 'config→query', 'http→auth', 'log→ops', 'file-lock.ts→http']) expect(edges, forbidden).not.toContain(forbidden);
  });
});
