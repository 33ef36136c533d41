// Local anvil devnet for sandbox mode and tests. Starts the anvil binary that
// ships in the pinned @foundry-rs/anvil npm package: no download, no global install.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { HDNodeWallet } from 'ethers';

export interface DevnetAccount {
  address: string;
  privateKey: string;
}

export interface Devnet {
  rpcUrl: string;
  chainId: number;
  /** DEVNET ONLY: anvil's well-known test keys; public, never fund them anywhere real. */
  accounts: DevnetAccount[];
  stop(): Promise<void>;
}

export interface DevnetOptions {
  /** Seconds per block; omitted = automine (one block per transaction). */
  blockTime?: number;
  chainId?: number;
  /** A state file: loaded at start if it exists, written when the node stops (a node restarted on the same chain). */
  statePath?: string;
}

// DEVNET ONLY: anvil's default mnemonic. Passed explicitly so the derived keys
// below are guaranteed to be the ones anvil funds.
const DEVNET_MNEMONIC = 'test test test test test test test test test test test junk';
const ACCOUNT_COUNT = 10;
const START_TIMEOUT_MS = 10_000;

/** The platform package holds the real binary; the wrapper's bin.mjs is the fallback. */
function anvilCommand(): { command: string; prefixArgs: string[] } {
  const platformPkg = `@foundry-rs/anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  try {
    const bin = require.resolve(`${platformPkg}/bin/${exe}`);
    if (existsSync(bin)) return { command: bin, prefixArgs: [] };
  } catch {
    // not installed for this platform; try the wrapper
  }
  const wrapperDir = path.dirname(require.resolve('@foundry-rs/anvil/package.json'));
  return { command: process.execPath, prefixArgs: [path.join(wrapperDir, 'bin.mjs')] };
}

function deriveAccounts(): DevnetAccount[] {
  // Derive the parent once: each fromPhrase runs PBKDF2.
  const parent = HDNodeWallet.fromPhrase(DEVNET_MNEMONIC, '', "m/44'/60'/0'/0");
  return Array.from({ length: ACCOUNT_COUNT }, (_, i) => {
    const w = parent.deriveChild(i);
    return { address: w.address, privateKey: w.privateKey };
  });
}

// Children still running; killed synchronously if the process exits without stop().
const running = new Set<ChildProcess>();
function killAllOnExit(): void {
  for (const child of running) child.kill('SIGKILL');
}

export async function startDevnet(opts: DevnetOptions = {}): Promise<Devnet> {
  const chainId = opts.chainId ?? 31337;
  const args = ['--port', '0', '--host', '127.0.0.1', '--chain-id', String(chainId)];
  args.push('--mnemonic', DEVNET_MNEMONIC, '--accounts', String(ACCOUNT_COUNT));
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  if (opts.statePath !== undefined) args.push('--state', opts.statePath);

  const { command, prefixArgs } = anvilCommand();
  const child = spawn(command, [...prefixArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (running.size === 0) process.on('exit', killAllOnExit);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => {
    running.delete(child);
    if (running.size === 0) process.off('exit', killAllOnExit);
  });

  let rpcUrl: string;
  try {
    rpcUrl = await waitForListening(child);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  };
  return { rpcUrl, chainId, accounts: deriveAccounts(), stop };
}

function waitForListening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const done = (err: Error | null, url?: string) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      // Keep draining: anvil logs every request, and a full pipe would stall it.
      child.stdout?.removeListener('data', onStdout);
      child.stdout?.resume();
      if (err) reject(err);
      else resolve(url!);
    };
    const onStdout = (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const m = /Listening on ([\d.]+):(\d+)/.exec(stdout);
      if (m) done(null, `http://${m[1]}:${m[2]}`);
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`anvil exited before listening (code ${code}, signal ${signal}): ${stderr.trim().slice(-500)}`));
    const timer = setTimeout(() => done(new Error(`anvil did not report a port within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.stdout?.on('data', onStdout);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    child.once('exit', onExit);
    child.once('error', (err) => done(new Error(`cannot start anvil: ${err.message}`)));
  });
}
