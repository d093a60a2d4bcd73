/** Wrong use of the command line (unknown job, bad flag value, missing REDIS_URL): exit code 2. */
export class UsageError extends Error {}

/** A queued run that failed (`enqueue --wait`): its reason is printed as is (the worker redacted it); exit code 1. */
export class RunFailed extends Error {}
