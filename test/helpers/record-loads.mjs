// Preload (`node --import ./test/helpers/record-loads.mjs …`) that writes, one per line, every
// module the process loaded to $RECORD_LOADS_FILE: ES modules as they are resolved (a module
// hook) and CommonJS modules from require.cache at exit. Lets a test prove which packages a
// command loads, without --trace flags that change what is measured.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env['RECORD_LOADS_FILE'];
if (!out) throw new Error('record-loads.mjs: set RECORD_LOADS_FILE');
register('./record-loads-hooks.mjs', import.meta.url, { data: { out } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(out, `${Object.keys(require.cache).join('\n')}\n`));
