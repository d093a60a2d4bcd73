// `npm test` (pretest): the console's browser tests drive Debian's chromium through
// playwright-core at /usr/bin/chromium. On a fresh machine this installs it when it can (root and
// apt-get: Debian's `chromium` package), else stops with a message naming what is missing, so the
// browser tests always run instead of being skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';

function fail(message) {
  process.stderr.write(`\nnpm test: ${message}\n\n`);
  process.exit(1);
}

function run(command, args) {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) fail(`\`${command} ${args.join(' ')}\` failed (exit ${result.status ?? result.signal}): install chromium yourself (apt-get install -y chromium) and run npm test again`);
}

if (!existsSync(CHROMIUM)) {
  const what = `the console's browser tests need chromium at ${CHROMIUM} (Debian's \`chromium\` package, driven by playwright-core)`;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!hasApt) fail(`${what}, and this machine has no apt-get: install chromium so that ${CHROMIUM} exists, then run npm test again`);
  if (process.getuid?.() !== 0) fail(`${what}: run \`sudo apt-get update && sudo apt-get install -y chromium\` (installing needs root), then npm test again`);
  process.stderr.write(`chromium not found: installing Debian's chromium for the browser tests (apt-get update && apt-get install -y chromium)\n`);
  const started = Date.now();
  // Another apt run may hold the lock (unattended upgrades): wait for it rather than fail.
  run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update']);
  run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', 'chromium']);
  if (!existsSync(CHROMIUM)) fail(`apt-get installed chromium but ${CHROMIUM} is still missing: ${what}`);
  process.stderr.write(`chromium installed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
