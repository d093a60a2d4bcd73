// Preload (`node --import ./test/helpers/record-loads.mjs …`) that writes, one per line, every
// module the process loaded to $RECORD_LOADS_FILE: ES modules as they are resolved (a module
// hook), CommonJS modules from require.cache at exit, and Node's own modules the process loaded
// after this preload as `node:NAME` (from process.moduleLoadList). Lets a test prove which
// packages a command loads, without --trace flags that change what is measured.
// Node's modules come through getBuiltinModule, not import: an import of node:fs would build its
// ES module facade, which loads the fs streams, and hide whether the CLI loads them.
const { appendFileSync } = process.getBuiltinModule('node:fs');
const { createRequire, register } = process.getBuiltinModule('node:module');

const out = process.env['RECORD_LOADS_FILE'];
if (!out) throw new Error('record-loads.mjs: set RECORD_LOADS_FILE');
register('./record-loads-hooks.mjs', import.meta.url, { data: { out } });
const require = createRequire(import.meta.url);
const builtinsBefore = new Set(process.moduleLoadList);
process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((entry) => !builtinsBefore.has(entry) && entry.startsWith('NativeModule ')).map((entry) => `node:${entry.slice('NativeModule '.length)}`);
  appendFileSync(out, `${[...Object.keys(require.cache), ...builtins].join('\n')}\n`);
});
