// The extract bench's baseline as a whole process, started like `restq run` is, so both sides
// pay their start-up. argv: baseUrl token file ; prints the row count on stdout.
import { baselineExtract } from '../lib/baseline-extract.mjs';

const [baseUrl, token, file] = process.argv.slice(2);
console.log(await baselineExtract(baseUrl, token, file));
