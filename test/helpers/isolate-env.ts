// Runs in every test worker before its tests. CI exports REDIS_URL (and a developer's shell may
// set more): a test, and every process it spawns with `...process.env`, must only see the
// settings it chose, so the Redis tests take their URL from inject('redisUrl') and a standalone
// test never finds itself in distributed mode.
for (const name of ['REDIS_URL', 'RESTQ_CONFIG_DIR', 'RESTQ_SECRET_KEY', 'RESTQ_QUEUE', 'RESTQ_PREFIX', 'LOG_LEVEL']) {
  delete process.env[name];
}
