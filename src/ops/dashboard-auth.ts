import { RestqError } from '../errors/restq-error.js';
import type { Settings } from '../runtime/settings.js';

/** Basic auth of the dashboard (kept apart from dashboard.ts so checking it loads no web server). */
export interface DashboardAuth {
  user: string;
  password: string;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Credentials from RESTQ_DASHBOARD_USER / RESTQ_DASHBOARD_PASSWORD; both or neither. */
export function dashboardAuth(settings: Pick<Settings, 'dashboardUser' | 'dashboardPassword'>): DashboardAuth | undefined {
  const user = settings.dashboardUser;
  const password = settings.dashboardPassword;
  if (!user && !password) return undefined;
  if (!user || !password) {
    throw new RestqError('E_USAGE', 'set both RESTQ_DASHBOARD_USER and RESTQ_DASHBOARD_PASSWORD for dashboard Basic auth, or neither', { permanent: true });
  }
  return { user, password };
}
