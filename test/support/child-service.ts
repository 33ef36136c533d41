import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export interface ChildService {
  url: string;
  child: ChildProcess;
  /** Resolves with the signal or exit code when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs `server/main.ts` as its own process (as `npm start` would), and waits until it listens. */
export function spawnService(env: Record<string, string>, timeoutMs = 30_000): Promise<ChildService> {
  // SERVICE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the services a test or bench starts.
  const nodeArgs = process.env.SERVICE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return spawnListening(path.join(ROOT, 'server', 'main.ts'), { ...env, PORT: '0' }, { nodeArgs, timeoutMs });
}

/**
 * Runs a TypeScript entry point (the service, the bench's bare Koa floor, the peer engine) as its own
 * process and waits for its `listening on <url>` line; one that does not get there is killed.
 */
export async function spawnListening(entry: string, env: Record<string, string>, options: { nodeArgs?: string[]; timeoutMs?: number } = {}): Promise<ChildService> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const name = path.relative(ROOT, entry);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start: ${err}`)), options.timeoutMs ?? 30_000);
      const listening = (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          // Only the start-up line is wanted; the logs after it are read and dropped, not kept.
          child.stdout!.off('data', listening);
          child.stdout!.resume();
          out = '';
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', listening);
      void exited.then((r) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${r.code ?? r.signal}) before listening: ${err}`));
      });
    });
    return { url, child, exited, stderr: () => err, kill };
  } catch (e) {
    await kill();
    throw e;
  }
}
