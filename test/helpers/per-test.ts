import { afterEach } from 'vitest';
import type { TestServer } from './http-test-server.js';
import type { TempProject } from './temp-project.js';

/** The loopback API and the temp project of the running test; either may be unset. */
export interface ServerAndProject {
  server?: TestServer;
  project?: TempProject;
}

/**
 * For files whose tests each start one loopback API and write one project: call once at the top
 * of the file, assign `server` and `project` in the test, and they are closed and removed after
 * it (then unset, so a test that sets neither cannot reach the last test's server).
 */
export function serverAndProjectPerTest(): ServerAndProject {
  const live: ServerAndProject = {};
  afterEach(async () => {
    await live.server?.close();
    live.project?.cleanup();
    delete live.server;
    delete live.project;
  });
  return live;
}
