// The project builder lives in temp-project.ts; this path stays for tests that import it here.
export { connectionsYaml, tempConfigDir, type TempProject as ConfigDir } from './temp-project.js';
