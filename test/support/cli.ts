import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DIR = join(REPO_ROOT, '..', 'shared');

/**
 * Per test process: the CLI's default state (ledger, key, trust cache) goes here instead of the user's home, so
 * tests never touch ~/.config or ~/.local/state. A test that wants its own passes XDG_* in `env`.
 */
const STATE_HOME = mkdtempSync(join(tmpdir(), 'airlock-cli-home-'));
export const CLI_DEFAULT_ENV: NodeJS.ProcessEnv = {
  XDG_CONFIG_HOME: join(STATE_HOME, 'config'),
  XDG_STATE_HOME: join(STATE_HOME, 'state'),
  XDG_CACHE_HOME: join(STATE_HOME, 'cache'),
};

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`node bin/run.js …`, i.e. dist/) as a user would, with the test's Node. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...CLI_DEFAULT_ENV, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
