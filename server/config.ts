// The only place that reads the environment (DESIGN §4). Every value is validated here, so a bad
// one stops start-up with a single line naming the variable instead of failing deep in a pass.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const DEFAULTS = {
  DATABASE_URL: 'mysql://root@127.0.0.1:3306/autofollow',
  OUTBOUNDBOT_ENDPOINT: 'https://outboundbot.cn-shanghai.aliyuncs.com',
  LLM_BASE_URL: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
  LLM_MODEL: 'qwen-plus',
  MONITOR_CRON: '*/5 * * * *',
  HOST: '127.0.0.1',
  PORT: '3000',
  TZ: 'Asia/Shanghai',
  OUTBOUNDBOT_QPS: '5',
  OUTBOUNDBOT_MAX_IN_FLIGHT: '8',
  LLM_CONCURRENCY: '4',
  // qwen-plus list prices (yuan per 1,000 tokens, Bailian, non-thinking mode).
  LLM_PRICE_PER_1K_INPUT: '0.0008',
  LLM_PRICE_PER_1K_OUTPUT: '0.002',
  LEASE_SECONDS: '300',
  STUCK_AFTER: '2h',
  RETRY_ATTEMPTS: '5',
  RETRY_BASE_MS: '500',
  RETRY_MAX_MS: '8000',
  OUTBOUNDBOT_TIMEOUT_MS: '15000',
  LLM_TIMEOUT_MS: '60000',
  LOG_LEVEL: 'info',
  OUTBOUNDBOT_WORKING_HOURS: '09:00-20:00',
} as const;

export interface Config {
  databaseUrl: string;
  /** Database name taken from DATABASE_URL; created by `migrate` when missing. */
  databaseName: string;
  accessKeyId: string | undefined;
  accessKeySecret: string | undefined;
  outboundbotEndpoint: string;
  outboundbotInstanceId: string | undefined;
  llmBaseUrl: string;
  llmApiKey: string | undefined;
  llmModel: string;
  monitorCron: string;
  host: string;
  port: number;
  dashboardPassword: string | undefined;
  apiToken: string | undefined;
  timeZone: string;
  outboundbotQps: number;
  /** Outbound Bot requests in flight at once, across every task of this process (issue 12). */
  outboundbotMaxInFlight: number;
  llmConcurrency: number;
  /** Yuan per 1,000 input / output tokens: the estimated cost on the dashboard and in /metrics. */
  llmPricePerThousandInput: number;
  llmPricePerThousandOutput: number;
  leaseSeconds: number;
  stuckAfterSeconds: number;
  retryAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  outboundbotTimeoutMs: number;
  llmTimeoutMs: number;
  logLevel: string;
  /** Hot-lead push channels (issue 11); a channel is on when its URL is set. */
  notify: NotifyConfig;
  /** The dashboard's address as sales reach it, for links in messages; none without it. */
  publicUrl: string | undefined;
  /** Launch and re-call defaults (issue 10); null: the instance's default script. */
  outboundbotScriptId: string | null;
  /** Empty: every number bound to the instance. */
  outboundbotCallingNumbers: string[];
  /** "HH:mm:ss" windows in which Outbound Bot may call. */
  outboundbotWorkingHours: Array<{ beginTime: string; endTime: string }>;
}

export interface NotifyConfig {
  dingtalkWebhook: string | undefined;
  dingtalkSecret: string | undefined;
  wecomWebhook: string | undefined;
  webhookUrl: string | undefined;
  webhookSecret: string | undefined;
}

type Env = Record<string, string | undefined>;

/** Reads and validates the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const read = (name: keyof typeof DEFAULTS): string => nonEmpty(env[name]) ?? DEFAULTS[name];
  const optional = (name: string): string | undefined => nonEmpty(env[name]);

  const databaseUrl = read('DATABASE_URL');
  const config: Config = {
    databaseUrl,
    databaseName: databaseNameOf(databaseUrl),
    accessKeyId: optional('ALIBABA_CLOUD_ACCESS_KEY_ID'),
    accessKeySecret: optional('ALIBABA_CLOUD_ACCESS_KEY_SECRET'),
    outboundbotEndpoint: httpUrl('OUTBOUNDBOT_ENDPOINT', read('OUTBOUNDBOT_ENDPOINT')),
    outboundbotInstanceId: optional('OUTBOUNDBOT_INSTANCE_ID'),
    llmBaseUrl: httpUrl('LLM_BASE_URL', read('LLM_BASE_URL')),
    llmApiKey: optional('LLM_API_KEY') ?? optional('DASHSCOPE_API_KEY'),
    llmModel: read('LLM_MODEL'),
    monitorCron: cronPattern('MONITOR_CRON', read('MONITOR_CRON')),
    host: read('HOST'),
    port: integer('PORT', read('PORT'), 0, 65535),
    dashboardPassword: optional('DASHBOARD_PASSWORD'),
    apiToken: optional('API_TOKEN'),
    timeZone: timeZone('TZ', read('TZ')),
    outboundbotQps: positiveNumber('OUTBOUNDBOT_QPS', read('OUTBOUNDBOT_QPS')),
    outboundbotMaxInFlight: integer('OUTBOUNDBOT_MAX_IN_FLIGHT', read('OUTBOUNDBOT_MAX_IN_FLIGHT'), 1, 64),
    llmConcurrency: integer('LLM_CONCURRENCY', read('LLM_CONCURRENCY'), 1, 256),
    llmPricePerThousandInput: nonNegativeNumber('LLM_PRICE_PER_1K_INPUT', read('LLM_PRICE_PER_1K_INPUT')),
    llmPricePerThousandOutput: nonNegativeNumber('LLM_PRICE_PER_1K_OUTPUT', read('LLM_PRICE_PER_1K_OUTPUT')),
    leaseSeconds: integer('LEASE_SECONDS', read('LEASE_SECONDS'), 5, 86_400),
    stuckAfterSeconds: duration('STUCK_AFTER', read('STUCK_AFTER')),
    retryAttempts: integer('RETRY_ATTEMPTS', read('RETRY_ATTEMPTS'), 1, 20),
    retryBaseMs: integer('RETRY_BASE_MS', read('RETRY_BASE_MS'), 1, 60_000),
    retryMaxMs: integer('RETRY_MAX_MS', read('RETRY_MAX_MS'), 1, 300_000),
    outboundbotTimeoutMs: integer('OUTBOUNDBOT_TIMEOUT_MS', read('OUTBOUNDBOT_TIMEOUT_MS'), 100, 600_000),
    llmTimeoutMs: integer('LLM_TIMEOUT_MS', read('LLM_TIMEOUT_MS'), 100, 600_000),
    logLevel: oneOf('LOG_LEVEL', read('LOG_LEVEL'), ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    notify: {
      dingtalkWebhook: optionalUrl('NOTIFY_DINGTALK_WEBHOOK', optional('NOTIFY_DINGTALK_WEBHOOK')),
      dingtalkSecret: optional('NOTIFY_DINGTALK_SECRET'),
      wecomWebhook: optionalUrl('NOTIFY_WECOM_WEBHOOK', optional('NOTIFY_WECOM_WEBHOOK')),
      webhookUrl: optionalUrl('NOTIFY_WEBHOOK_URL', optional('NOTIFY_WEBHOOK_URL')),
      webhookSecret: optional('NOTIFY_WEBHOOK_SECRET'),
    },
    publicUrl: optionalUrl('PUBLIC_URL', optional('PUBLIC_URL')),
    outboundbotScriptId: optional('OUTBOUNDBOT_SCRIPT_ID') ?? null,
    outboundbotCallingNumbers: callingNumbers('OUTBOUNDBOT_CALLING_NUMBERS', optional('OUTBOUNDBOT_CALLING_NUMBERS') ?? ''),
    outboundbotWorkingHours: workingHours('OUTBOUNDBOT_WORKING_HOURS', read('OUTBOUNDBOT_WORKING_HOURS')),
  };
  if (config.notify.webhookUrl !== undefined && config.notify.webhookSecret === undefined) {
    throw new ConfigError('NOTIFY_WEBHOOK_SECRET', 'is required when NOTIFY_WEBHOOK_URL is set: every event is signed with it');
  }
  if (config.notify.dingtalkSecret !== undefined && config.notify.dingtalkWebhook === undefined) {
    throw new ConfigError('NOTIFY_DINGTALK_WEBHOOK', 'is required when NOTIFY_DINGTALK_SECRET is set');
  }
  if (config.retryMaxMs < config.retryBaseMs) {
    throw new ConfigError('RETRY_MAX_MS', `must be at least RETRY_BASE_MS (${config.retryBaseMs})`);
  }
  if ((config.accessKeyId === undefined) !== (config.accessKeySecret === undefined)) {
    const missing = config.accessKeyId === undefined ? 'ALIBABA_CLOUD_ACCESS_KEY_ID' : 'ALIBABA_CLOUD_ACCESS_KEY_SECRET';
    throw new ConfigError(missing, 'is required when the other half of the access key pair is set');
  }
  if (config.accessKeyId !== undefined && config.outboundbotInstanceId === undefined) {
    throw new ConfigError('OUTBOUNDBOT_INSTANCE_ID', 'is required when OutboundBot credentials are set');
  }
  return Object.freeze(config);
}

/**
 * Reads `.env` from the working directory into process.env when the file exists (DESIGN §4), with
 * Node's own parser. The real environment wins: process.loadEnvFile leaves a variable that is already
 * set alone, even one set to "" (checked on Node 20.19, 20.20 and 24; test/cli/dot-env.test.ts), so a
 * systemd EnvironmentFile or an `export` is never overridden by a stray file. Returns the file read.
 */
export function loadDotEnv(directory: string = process.cwd()): string | null {
  const file = path.join(directory, '.env');
  if (!existsSync(file)) return null;
  try {
    process.loadEnvFile(file);
  } catch (error) {
    throw new ConfigError('.env', `cannot be read (${(error as Error).message}); fix or remove ${file}`);
  }
  return file;
}

/** The process environment with some variables replaced: how `demo` points the service at its simulators. */
export function loadConfigWith(overrides: Env, env: Env = process.env): Readonly<Config> {
  return loadConfig({ ...env, ...overrides });
}

/**
 * `serve` and `run-once` talk to the real services: without credentials they refuse to start,
 * so simulated data can never be written into a real CRM database (DESIGN §5).
 */
export function requireLiveCredentials(config: Config): void {
  const missing: string[] = [];
  if (!config.accessKeyId) missing.push('ALIBABA_CLOUD_ACCESS_KEY_ID');
  if (!config.accessKeySecret) missing.push('ALIBABA_CLOUD_ACCESS_KEY_SECRET');
  if (!config.outboundbotInstanceId) missing.push('OUTBOUNDBOT_INSTANCE_ID');
  if (!config.llmApiKey) missing.push('LLM_API_KEY');
  if (missing.length > 0) {
    throw new ConfigError(
      missing[0]!,
      `is not set (missing: ${missing.join(', ')}). Set the credentials, or run \`npx autofollow demo\` to try autofollow on the built-in simulator.`,
    );
  }
}

/** Dashboard and API must not be reachable beyond loopback without their secrets (DESIGN §4). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function databaseNameOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('DATABASE_URL', `is not a URL (expected mysql://user:pass@host:port/db)`);
  }
  if (parsed.protocol !== 'mysql:') throw new ConfigError('DATABASE_URL', 'must start with mysql://');
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(name)) {
    throw new ConfigError('DATABASE_URL', 'must name a database (letters, digits, _ or $), e.g. mysql://root@127.0.0.1:3306/autofollow');
  }
  return name;
}

function httpUrl(variable: string, value: string): string {
  const parsed = z.url({ protocol: /^https?$/ }).safeParse(value);
  if (!parsed.success) throw new ConfigError(variable, `must be an http:// or https:// URL, got "${value}"`);
  return value.replace(/\/+$/, '');
}

function optionalUrl(variable: string, value: string | undefined): string | undefined {
  return value === undefined ? undefined : httpUrl(variable, value);
}

function integer(variable: string, value: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value)) throw new ConfigError(variable, `must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(variable, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function positiveNumber(variable: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(variable, `must be a number above 0, got "${value}"`);
  return n;
}

function nonNegativeNumber(variable: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(variable, `must be a number of at least 0, got "${value}"`);
  return n;
}

function oneOf(variable: string, value: string, allowed: string[]): string {
  if (!allowed.includes(value)) throw new ConfigError(variable, `must be one of ${allowed.join(', ')}, got "${value}"`);
  return value;
}

/** Seconds from "90", "90s", "30m", "2h" or "1d". */
function duration(variable: string, value: string): number {
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(value);
  if (!match) throw new ConfigError(variable, `must be a duration such as 90s, 30m, 2h or 1d, got "${value}"`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds < 1) throw new ConfigError(variable, 'must be at least one second');
  return seconds;
}

/** "02160001234,02160005678": digits (a leading + allowed), comma-separated. */
export function callingNumbers(variable: string, value: string): string[] {
  const numbers = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const bad = numbers.find((n) => !/^\+?\d{3,20}$/.test(n));
  if (bad !== undefined) throw new ConfigError(variable, `must be calling numbers separated by commas, got "${bad}"`);
  return numbers;
}

/** "09:00-12:00,13:30-20:00": one or more HH:mm-HH:mm windows, each ending after it begins. */
export function workingHours(variable: string, value: string): Array<{ beginTime: string; endTime: string }> {
  const windows = value.split(',').map((w) => w.trim()).filter((w) => w !== '');
  if (windows.length === 0) throw new ConfigError(variable, 'must name at least one window such as 09:00-20:00');
  return windows.map((window) => {
    const match = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$/.exec(window);
    if (!match || `${match[3]}:${match[4]}` <= `${match[1]}:${match[2]}`) {
      throw new ConfigError(variable, `must be windows such as 09:00-12:00,13:30-20:00 (each ending after it begins), got "${window}"`);
    }
    return { beginTime: `${match[1]}:${match[2]}:00`, endTime: `${match[3]}:${match[4]}:00` };
  });
}

function cronPattern(variable: string, value: string): string {
  try {
    new Cron(value, { paused: true }).stop();
  } catch (error) {
    throw new ConfigError(variable, `is not a valid cron pattern ("${value}"): ${(error as Error).message}`);
  }
  return value;
}

function timeZone(variable: string, value: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw new ConfigError(variable, `is not a known IANA time zone, got "${value}" (e.g. Asia/Shanghai)`);
  }
  return value;
}
