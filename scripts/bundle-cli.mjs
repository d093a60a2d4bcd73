// The `restq` command as a bundle: dist/cli.js and its per-command chunks in dist/cli-chunks/.
// A cold start pays per module file (resolve, read, compile): zod alone is 95 files, and
// `restq validate` loaded 132. Bundled, the CLI's own code and the small libraries every
// command needs (zod, yaml, commander) are a handful of files; each command's code is still a
// chunk of its own, loaded only when that command runs. Packages that only some commands use
// (BullMQ, undici, the console's web server, OpenTelemetry) stay external: they load from
// node_modules, and only when a command imports them.
// dist/ keeps tsc's one-file-per-module output beside it for use as a library.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const INLINED = new Set(['zod', 'yaml', 'commander']);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const external = Object.keys(pkg.dependencies ?? {})
  .filter((name) => !INLINED.has(name))
  .flatMap((name) => [name, `${name}/*`]);

rmSync(path.join(root, 'dist', 'cli-chunks'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli.ts' },
  outdir: 'dist',
  chunkNames: 'cli-chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  external,
  sourcemap: true,
  logLevel: 'warning',
  // commander is CommonJS: its require() of Node's modules needs a real require in an ES module.
  banner: { js: "import { createRequire as __restqCreateRequire } from 'node:module'; const require = __restqCreateRequire(import.meta.url);" },
});
