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

/**
 * Node's own modules reach the bundle through require(), not import. An ES module import of a
 * built-in builds its ESM facade, which reads every export: node:fs's ReadStream getter alone
 * loads the fs streams (~5 ms of `restq --help`). Through require() esbuild's interop reads a
 * property only when the code uses it. commander's node:child_process (for executable
 * subcommands, which restq has none of) loads on first use only (~4 ms).
 */
const builtinsOnDemand = {
  name: 'builtins-on-demand',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => {
      if (args.kind === 'import-statement' || args.kind === 'dynamic-import') return { path: args.path, namespace: 'builtin' };
      if (args.path === 'node:child_process' && args.importer.includes(`${path.sep}commander${path.sep}`)) return { path: args.path, namespace: 'builtin-lazy' };
      return undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
    build.onLoad({ filter: /.*/, namespace: 'builtin-lazy' }, (args) => ({
      contents: `module.exports = new Proxy({}, { get: (_, key) => require(${JSON.stringify(args.path)})[key] });`,
      loader: 'js',
    }));
  },
};

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
  plugins: [builtinsOnDemand],
  // commander is CommonJS: its require() of Node's modules needs a real require in an ES module.
  banner: { js: "import { createRequire as __restqCreateRequire } from 'node:module'; const require = __restqCreateRequire(import.meta.url);" },
});
