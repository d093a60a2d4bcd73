/** Wrong use of the command line (unknown job, bad flag value, missing REDIS_URL): exit code 2. */
export class UsageError extends Error {}

/**
 * A run that failed (`enqueue --wait`) or was interrupted (Ctrl-C during `restq run`): its reason is
 * printed as is (already redacted); exit code 1, or 128 + the signal number after a signal.
 */
export class RunFailed extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
