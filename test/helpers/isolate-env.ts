// Runs in every test worker before its tests. CI exports REDIS_URL (and a developer's shell may
// set more): a test, and every process it spawns with `...process.env`, must only see the
// settings it chose, so the Redis tests take their URL from inject('redisUrl') and a standalone
// test never finds itself in distributed mode.
// COLUMNS widens restq's tables past 80 columns: a test that wants it sets it.
for (const name of ['REDIS_URL', 'RESTQ_CONFIG_DIR', 'RESTQ_SECRET_KEY', 'RESTQ_QUEUE', 'RESTQ_PREFIX', 'LOG_LEVEL', 'COLUMNS']) {
  delete process.env[name];
}
