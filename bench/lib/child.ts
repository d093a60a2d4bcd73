import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const benchDir = path.resolve(here, '..');

/** Starts `bench/children/<name>` (`.ts` under tsx, `.mjs` as is) with IPC; returns it and its first message. */
export async function startChild<M>(name: string, args: string[] = [], options: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<{ child: ChildProcess; first: M }> {
  const plain = name.endsWith('.mjs');
  const child = fork(path.join(benchDir, 'children', plain ? name : `${name}.ts`), args, {
    execArgv: [...(plain ? [] : ['--import', 'tsx']), ...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`bench child ${name} exited with ${String(code)} before reporting`);
  });
  const [first] = (await Promise.race([once(child, 'message'), exited])) as [M];
  return { child, first };
}

/** Waits for the child's next message (or its exit). */
export async function nextMessage<M>(child: ChildProcess): Promise<M> {
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`bench child exited with ${String(code)}`);
  });
  const [message] = (await Promise.race([once(child, 'message'), exited])) as [M];
  return message;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}
