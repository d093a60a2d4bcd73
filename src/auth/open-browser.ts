import { spawn } from 'node:child_process';

/**
 * Asks the desktop to open `url` (xdg-open, open, or the Windows URL handler). Returns false
 * when there is no desktop to ask (Linux without DISPLAY/WAYLAND_DISPLAY, e.g. over SSH) or the
 * opener cannot start; never throws: the printed URL is always the way that works.
 */
export function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  let command: string;
  let args: string[];
  if (platform === 'darwin') [command, args] = ['open', [url]];
  // rundll32 passes the URL untouched; `cmd /c start` would read the & in it as a command separator.
  else if (platform === 'win32') [command, args] = ['rundll32', ['url.dll,FileProtocolHandler', url]];
  else {
    if (!env['DISPLAY'] && !env['WAYLAND_DISPLAY']) return false;
    [command, args] = ['xdg-open', [url]];
  }
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {
      // No opener installed: the URL is printed anyway.
    });
    child.unref();
    return true;
  } catch {
    return false;
  }
}
