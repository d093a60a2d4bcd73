// The project builder lives in temp-project.ts, the logger in memory-logger.ts; this path stays
// for tests that import them here.
export { tempConfig, type TempConfig } from './temp-project.js';
export { memoryLogger } from './memory-logger.js';
