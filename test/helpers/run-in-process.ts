import { loadConfig } from '../../src/config/load-config.js';
import type { Config, ParamValue } from '../../src/config/types.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { runJob, type RunResult } from '../../src/runner.js';
import { captureStream, memoryLogger } from './memory-logger.js';

export interface InProcessRun {
  config: Config;
  result?: RunResult;
  error?: unknown;
  stdout: string;
  logs: string;
}

/** Loads `dir` and runs one job with runJob(), as `restq run` does, capturing stdout and logs. */
export async function runInProcess(
  dir: string,
  job: string,
  options: { env?: Record<string, string>; params?: Record<string, ParamValue>; runId?: string; clock?: () => Date; lastSuccessAt?: string } = {},
): Promise<InProcessRun> {
  const config = loadConfig({ dir, env: options.env ?? {} });
  const { logger, text: logs } = memoryLogger(config);
  const stdout = captureStream();
  const clients = new ApiClients({ config, logger });
  try {
    const result = await runJob({
      config,
      job,
      clients,
      logger,
      stdout: stdout.stream,
      ...(options.params ? { params: options.params } : {}),
      ...(options.runId ? { runId: options.runId } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.lastSuccessAt ? { lastSuccessAt: options.lastSuccessAt } : {}),
    });
    return { config, result, stdout: stdout.text(), logs: logs() };
  } catch (error) {
    return { config, error, stdout: stdout.text(), logs: logs() };
  } finally {
    await clients.close();
  }
}
