// The queue bench's protocol with a worker child, for both sides (bare BullMQ and restq), so they
// report the same way at the same cost: completed runs every 50 ms, the process's CPU time when
// ready and when asked, and SIGTERM stops the worker and exits 0.

/**
 * Counts the completed runs of `bullWorker` (a BullMQ Worker) and reports to the bench over IPC.
 * `start` resolves once the worker takes runs; `stop` closes what the child opened.
 */
export async function serveQueueBench(bullWorker, { start, stop }) {
  let done = 0;
  bullWorker.on('completed', () => {
    done++;
  });
  // This process's CPU time so far (µs), for the bench's CPU-per-run figure: sent when ready and
  // when asked (not with every count: getrusage 20 times a second would weigh on the figure).
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  process.on('message', (m) => {
    if (m === 'cpu') process.send?.({ cpu: cpu() });
  });
  const report = setInterval(() => process.send?.({ done }), 50);
  await start();
  process.send?.({ ready: true, cpu: cpu() });
  process.on('SIGTERM', async () => {
    clearInterval(report);
    await stop();
    process.exit(0);
  });
}
