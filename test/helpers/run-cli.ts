// Runs the real `npx autofollow` entry (bin/autofollow.js) as a child process with an explicit
// environment: nothing leaks in from the developer's shell, so each test states its settings. The
// child starts in an empty directory unless a test says where: every command reads `.env` from its
// working directory, and a developer's own .env in the repo root must not change what tests see.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/autofollow.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stderr split into non-empty lines. */
  errorLines: string[];
}

/** Credentials that satisfy requireLiveCredentials; the endpoints point at a closed port. */
export const FAKE_LIVE_ENV = {
  ALIBABA_CLOUD_ACCESS_KEY_ID: 'test-key-id',
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'test-key-secret',
  OUTBOUNDBOT_INSTANCE_ID: 'test-instance',
  LLM_API_KEY: 'test-llm-key',
  OUTBOUNDBOT_ENDPOINT: 'http://127.0.0.1:1',
  LLM_BASE_URL: 'http://127.0.0.1:1/v1',
  RETRY_ATTEMPTS: '1',
};

export function cliEnv(env: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...env };
}

/** A directory no test writes a .env into (tests that need one make their own). */
function noDotEnvDirectory(): string {
  const directory = path.join(tmpdir(), 'autofollow-cli-without-dotenv');
  mkdirSync(directory, { recursive: true });
  return directory;
}

export function startCli(args: string[], env: Record<string, string> = {}, options: { cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? noDotEnvDirectory(), env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, errorLines: stderr.split('\n').filter((line) => line.trim() !== '') }),
    );
  });
}

export function runCli(args: string[], env: Record<string, string> = {}, options: { cwd?: string } = {}): Promise<CliResult> {
  return collect(startCli(args, env, options));
}
