import express, { type Request, type Response, type Router } from 'express';
import type { Config, Job, ParamValue } from '../config/types.js';
import { SECRET_FIELDS } from '../log/logger.js';
import type { HistoryRecord, StateStore } from '../state/state-store.js';
import { CsrfGuard } from './csrf.js';
import { count, duration, esc, layout, runChart, when } from './pages.js';
import type { RunStarter } from './run-starters.js';
import { nextRunAt, scheduleInWords } from './schedule-words.js';

export interface ConsoleOptions {
  /** The project's config, or a getter that follows config reloads (each request reads the current one). */
  config: Config | (() => Config);
  state: StateStore;
  runs: RunStarter;
  /** Bull Board is served at /queues (distributed mode only). */
  queues: boolean;
  /** @default () => new Date() */
  clock?: () => Date;
}

/** A job as `restq status --json` lists it (SPEC 4), the shape of `GET /api/jobs`. */
export interface ConsoleJob {
  name: string;
  schedule: string | null;
  timezone: string;
  nextRunAt: string | null;
  lastRun: { runId: string; status: HistoryRecord['status']; startedAt: string; finishedAt: string; rows: number; error: string | null } | null;
}

class BadRequest extends Error {}

const SECRET_KEYS = new Set(SECRET_FIELDS.map((f) => f.toLowerCase()));
const MAX_LIMIT = 1000;

/** A job's settings for display: secret-named keys dropped, secret values fingerprinted. */
function jobSettings(job: Job, config: Config): string {
  const { file: _file, ...shown } = job;
  const text = JSON.stringify(shown, (key, value: unknown) => (key && SECRET_KEYS.has(key.toLowerCase()) ? '[redacted]' : value), 2);
  return config.redactor.redact(text);
}

/** `{"params": {…}}`: an object of strings, numbers, booleans or null; anything else is a 400 naming what is wrong. */
export function parseRunBody(body: unknown): Record<string, ParamValue> {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('the body must be a JSON object: {"params": {"name": "value"}}');
  const { params, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new BadRequest(`unknown field${unknown.length === 1 ? '' : 's'} ${unknown.map((k) => `"${k}"`).join(', ')}: the body is {"params": {…}}`);
  if (params === undefined) return {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new BadRequest(`"params" must be an object of name → value, got ${Array.isArray(params) ? 'an array' : params === null ? 'null' : typeof params}`);
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) throw new BadRequest(`params.${key} must be a string, number, boolean or null, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return params as Record<string, ParamValue>;
}

/** "status=open\nlimit=10" from the job page's form → params. */
function parseParamLines(text: unknown): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  for (const line of String(text ?? '').split(/\r?\n/)) {
    if (!line.trim()) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new BadRequest(`a parameter line must read name=value, got "${line.trim()}"`);
    params[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return params;
}

function parseLimit(raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || n < 1 || n > MAX_LIMIT) throw new BadRequest(`limit must be a whole number from 1 to ${MAX_LIMIT}, got "${String(raw)}"`);
  return n;
}

/**
 * The operator's console (SPEC 11): `/` jobs overview, `/jobs/NAME` (settings, history with a
 * chart, errors, run now, cursor reset) and the JSON API under `/api`. Mount it behind the
 * dashboard's Basic auth.
 */
export function consoleRouter(options: ConsoleOptions): Router {
  const { state, runs } = options;
  const configOption = options.config;
  const current = typeof configOption === 'function' ? configOption : () => configOption;
  const clock = options.clock ?? (() => new Date());
  const csrf = new CsrfGuard();
  const router = express.Router();
  router.use(express.json({ limit: '64kb' }), express.urlencoded({ extended: false, limit: '64kb' }));
  router.use(csrf.middleware());

  const jobOr404 = (req: Request, res: Response, html: boolean): Job | undefined => {
    const job = current().jobs[String(req.params['name'])];
    if (job) return job;
    const message = `unknown job "${String(req.params['name'])}": defined jobs are ${Object.keys(current().jobs).join(', ') || '(none)'}`;
    if (html) res.status(404).type('html').send(layout('not found', `<h1>Not found</h1><p>${esc(message)}</p>`, { queues: options.queues }));
    else res.status(404).json({ error: message });
    return undefined;
  };

  const consoleJob = async (job: Job): Promise<ConsoleJob> => {
    const last = await state.lastRun(job.name);
    return {
      name: job.name,
      schedule: job.schedule ?? null,
      timezone: job.timezone,
      nextRunAt: nextRunAt(job.schedule, job.timezone, clock()),
      lastRun: last ? { runId: last.runId, status: last.status, startedAt: last.startedAt, finishedAt: last.finishedAt, rows: last.rows, error: last.error ? `${last.error.code}: ${last.error.message}` : null } : null,
    };
  };

  const handle = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response) => {
    fn(req, res).catch((error: unknown) => {
      if (error instanceof BadRequest) {
        if (req.accepts(['json', 'html']) === 'html' && !req.path.startsWith('/api/')) res.status(400).type('html').send(layout('bad request', `<h1>Bad request</h1><p>${esc(error.message)}</p>`, { queues: options.queues }));
        else res.status(400).json({ error: error.message });
        return;
      }
      res.status(500).json({ error: current().redactor.redact(error instanceof Error ? error.message : String(error)) });
    });
  };

  // ---- JSON API (SPEC 11) ----
  router.get('/api/jobs', handle(async (_req, res) => {
    res.json(await Promise.all(Object.values(current().jobs).map(consoleJob)));
  }));

  router.get('/api/jobs/:name/runs', handle(async (req, res) => {
    const job = jobOr404(req, res, false);
    if (!job) return;
    res.json(await state.history(job.name, parseLimit(req.query['limit'], state.historyLimit)));
  }));

  router.post('/api/jobs/:name/runs', handle(async (req, res) => {
    const job = jobOr404(req, res, false);
    if (!job) return;
    const runId = await runs.start(job.name, parseRunBody(req.body));
    res.status(202).location(`/api/runs/${encodeURIComponent(runId)}`).json({ runId });
  }));

  router.get('/api/runs/:runId', handle(async (req, res) => {
    const runId = String(req.params['runId']);
    const live = (await runs.live(runId)) ?? (await state.getLive(runId));
    const record = await findRecord(runId, live?.job);
    if (record && (!live || live.state === 'finished')) return void res.json({ ...record, state: 'finished' });
    if (live) return void res.json(live);
    res.status(404).json({ error: `unknown run "${runId}" (not active, and not in the kept history)` });
  }));

  const findRecord = async (runId: string, job: string | undefined): Promise<HistoryRecord | undefined> => {
    for (const name of job ? [job] : Object.keys(current().jobs)) {
      const found = (await state.history(name)).find((r) => r.runId === runId);
      if (found) return found;
    }
    return undefined;
  };

  // ---- pages ----
  router.get('/', handle(async (_req, res) => {
    const config = current();
    const jobs = await Promise.all(
      Object.values(config.jobs).map(async (job) => ({ job, info: await consoleJob(job), last: await state.lastRun(job.name), cursor: await state.getCursor(job.name) })),
    );
    const rows = jobs
      .map(({ job, info, last, cursor }) => {
        const words = job.schedule ? scheduleInWords(job.schedule) : null;
        const schedule = job.schedule ? `<code>${esc(job.schedule)}</code>${words ? `<div class="muted">${esc(words)}</div>` : ''}<div class="muted">${esc(job.timezone)}</div>` : '<span class="muted">on demand</span>';
        const lastCell = last
          ? `<span class="${esc(last.status)}">${esc(last.status)}</span><div class="muted">${esc(when(last.startedAt))}</div>`
          : '<span class="muted">never</span>';
        return `<tr data-job="${esc(job.name)}"><td><a href="/jobs/${encodeURIComponent(job.name)}">${esc(job.name)}</a></td><td>${esc(job.connection)}</td><td>${schedule}</td><td>${esc(when(info.nextRunAt))}</td><td>${lastCell}</td><td class="num">${last ? esc(duration(last.durationMs)) : '-'}</td><td class="num">${last ? esc(count(last.rows)) : '-'}</td><td>${cursor.cursor ? `<code>${esc(cursor.cursor)}</code>` : '<span class="muted">-</span>'}</td></tr>`;
      })
      .join('');
    const body = `<h1>Jobs</h1><div class="scroll"><table><thead><tr><th>Job</th><th>Connection</th><th>Schedule</th><th>Next run</th><th>Last run</th><th>Took</th><th>Rows</th><th>Cursor</th></tr></thead><tbody>${rows}</tbody></table></div>
<p class="muted">${esc(state.kind === 'redis' ? 'distributed mode: runs are queued for the workers' : 'standalone mode: state from .restq/, "Run now" runs in this process')} · ${Object.keys(config.jobs).length} jobs · ${esc(when(clock().toISOString()))}</p>`;
    res.type('html').send(layout('jobs', body, { queues: options.queues }));
  }));

  router.get('/jobs/:name', handle(async (req, res) => {
    const job = jobOr404(req, res, true);
    if (!job) return;
    const history = await state.history(job.name);
    const cursor = await state.getCursor(job.name);
    const info = await consoleJob(job);
    const started = typeof req.query['started'] === 'string' ? req.query['started'] : undefined;
    const live = started ? ((await runs.live(started)) ?? (await state.getLive(started))) : undefined;
    const activeBanner = started
      ? `<div class="banner" id="live" data-run-id="${esc(started)}">Run <code>${esc(started)}</code> ${live && live.state === 'active' ? `<span class="active">running</span>: <span id="live-rows">${esc(count(live.rows))}</span> rows, <span id="live-pages">${esc(count(live.pages))}</span> pages` : 'started'}</div>`
      : '';
    const runRows = history
      .map((r) => {
        const main = `<tr class="run" data-run-id="${esc(r.runId)}"><td><code>${esc(r.runId)}</code></td><td class="${esc(r.status)}">${esc(r.status)}</td><td>${esc(r.trigger)}</td><td>${esc(when(r.startedAt))}</td><td class="num">${esc(duration(r.durationMs))}</td><td class="num">${esc(count(r.rows))}</td><td class="num">${esc(count(r.pages))}</td></tr>`;
        return r.error ? `${main}<tr class="err"><td colspan="7"><pre>${esc(`${r.error.code}: ${r.error.message}`)}</pre></td></tr>` : main;
      })
      .join('');
    const words = job.schedule ? scheduleInWords(job.schedule) : null;
    const body = `<h1>${esc(job.name)}</h1>${activeBanner}
<div class="cards">
<div class="card"><div class="muted">Schedule</div>${job.schedule ? `<code>${esc(job.schedule)}</code> ${esc(words ?? '')} (${esc(job.timezone)})<div class="muted">next ${esc(when(info.nextRunAt))}</div>` : 'on demand'}</div>
<div class="card"><div class="muted">Last run</div>${info.lastRun ? `<span class="${esc(info.lastRun.status)}">${esc(info.lastRun.status)}</span> ${esc(when(info.lastRun.startedAt))}, ${esc(count(info.lastRun.rows))} rows` : 'never'}</div>
<div class="card"><div class="muted">Cursor</div><span id="cursor">${cursor.cursor ? `<code>${esc(cursor.cursor)}</code><div class="muted">since ${esc(when(cursor.updatedAt))} (${esc(cursor.runId ?? '')})</div>` : 'none'}</span>
<form method="get" action="/jobs/${encodeURIComponent(job.name)}/cursor/reset"><button class="danger" type="submit" id="reset-cursor">Reset cursor…</button></form></div>
</div>
<h2>Run now</h2>
<form class="inline" method="post" action="/jobs/${encodeURIComponent(job.name)}/run"><input type="hidden" name="_csrf" value="${esc(csrf.token)}">
<textarea name="params" placeholder="name=value, one a line (optional)" aria-label="parameters">${esc(Object.entries(job.params).map(([k, v]) => `${k}=${v ?? ''}`).join('\n'))}</textarea><button type="submit" id="run-now">Run now</button></form>
<h2>Rows and duration per run</h2>${runChart(history)}
<h2>Runs <span class="muted">(newest first, last ${history.length})</span></h2>
<div class="scroll"><table id="runs"><thead><tr><th>Run</th><th>Status</th><th>Trigger</th><th>Started</th><th>Took</th><th>Rows</th><th>Pages</th></tr></thead><tbody>${runRows || '<tr><td colspan="7" class="muted">No runs yet.</td></tr>'}</tbody></table></div>
<h2>Settings</h2><pre id="settings">${esc(jobSettings(job, current()))}</pre>
${started ? LIVE_SCRIPT : ''}`;
    res.type('html').send(layout(job.name, body, { queues: options.queues }));
  }));

  router.post('/jobs/:name/run', handle(async (req, res) => {
    const job = jobOr404(req, res, true);
    if (!job) return;
    const body = req.body as Record<string, unknown>;
    const runId = await runs.start(job.name, parseParamLines(body['params']));
    res.redirect(303, `/jobs/${encodeURIComponent(job.name)}?started=${encodeURIComponent(runId)}`);
  }));

  // Resetting asks first, on a page of its own (works without script).
  router.get('/jobs/:name/cursor/reset', handle(async (req, res) => {
    const job = jobOr404(req, res, true);
    if (!job) return;
    const cursor = await state.getCursor(job.name);
    const body = `<h1>Reset the cursor of ${esc(job.name)}?</h1><p>The cursor is ${cursor.cursor ? `<code>${esc(cursor.cursor)}</code>` : 'not set'}. After a reset the next run starts at <code>incremental.start</code> and reads everything since then again.</p>
<form class="inline" method="post" action="/jobs/${encodeURIComponent(job.name)}/cursor/reset"><input type="hidden" name="_csrf" value="${esc(csrf.token)}"><input type="hidden" name="confirm" value="yes"><button class="danger" type="submit" id="confirm-reset">Yes, reset the cursor</button> <a href="/jobs/${encodeURIComponent(job.name)}" id="cancel-reset">Cancel</a></form>`;
    res.type('html').send(layout(`reset ${job.name}`, body, { queues: options.queues }));
  }));

  router.post('/jobs/:name/cursor/reset', handle(async (req, res) => {
    const job = jobOr404(req, res, true);
    if (!job) return;
    if ((req.body as Record<string, unknown>)['confirm'] !== 'yes') throw new BadRequest('resetting the cursor needs confirm=yes');
    await state.resetCursor(job.name, clock());
    res.redirect(303, `/jobs/${encodeURIComponent(job.name)}`);
  }));

  return router;
}

/** Polls the started run's live figures once a second; reloads the page when it has finished. */
const LIVE_SCRIPT = `<script>
(function(){var box=document.getElementById('live');if(!box)return;var id=box.getAttribute('data-run-id');
function tick(){fetch('/api/runs/'+encodeURIComponent(id),{headers:{accept:'application/json'}}).then(function(r){return r.ok?r.json():null}).then(function(run){
if(!run){setTimeout(tick,1000);return}
if(run.state==='finished'){location.replace(location.pathname);return}
box.innerHTML='Run <code>'+id+'</code> <span class="active">running</span>: <span id="live-rows">'+run.rows.toLocaleString('en-US')+'</span> rows, <span id="live-pages">'+run.pages+'</span> pages';
setTimeout(tick,1000)}).catch(function(){setTimeout(tick,2000)})}tick()})();
</script>`;
