// The CLI starter lives in run-cli.ts; this path stays for tests that import it here.
export { spawnRestq, type RestqProcess } from './run-cli.js';
