// The one place that touches @alicloud/openapi-core: its ESM/CJS interop, its Config quirks and
// one RPC call. Everything it throws is left raw for classify-error.ts (STYLE §2).
import * as Core from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

// The package is CommonJS with __esModule set, and runtimes disagree on its default export: Node's
// ESM loader (and tsx) gives the whole exports object, so the class sits at .default (reference
// §6.2), while vitest unwraps __esModule and gives the class itself. Named exports agree everywhere.
type OpenApiClientClass = typeof Core.default.default;
const defaultExport: unknown = Core.default;
const OpenApiClient: OpenApiClientClass =
  typeof defaultExport === 'function' ? (defaultExport as OpenApiClientClass) : (defaultExport as { default: OpenApiClientClass }).default;
const { Config, Params, OpenApiRequest } = Core.$OpenApiUtil;
const OpenApiUtil = Core.OpenApiUtil;

export const API_VERSION = '2019-12-26';

export interface WireResponse {
  statusCode: number;
  /** The parsed JSON body (openapi-core throws SyntaxError when it is not JSON). */
  body: unknown;
  /** From the x-acs-request-id header, for error reports when the body has none. */
  requestId: string | null;
}

export interface WireCaller {
  /** One POST of an RPC action with every business parameter in the query string (reference §2.2). */
  call(action: string, params: Record<string, unknown>): Promise<WireResponse>;
}

export interface WireOptions {
  /** URL with scheme: https://outboundbot.cn-shanghai.aliyuncs.com or http://127.0.0.1:1234 */
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
  timeoutMs: number;
}

export function createWireCaller(options: WireOptions): WireCaller {
  const { host, protocol } = endpointParts(options.endpoint);
  const client = new OpenApiClient(new Config({
    accessKeyId: options.accessKeyId,
    accessKeySecret: options.accessKeySecret,
    // openapi-core wants host[:port] and the scheme apart; a scheme in `endpoint` yields "http://http//…".
    endpoint: host,
    protocol,
    // Both, always: connectTimeout is really the socket idle timeout, and either left unset falls
    // back to 3 s, which kills any slower answer with a misleading "ConnectTimeout" (reference §6.6).
    readTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
  }));
  // openapi-core never retries without retryOptions (reference §6.7); our own loop does it.
  const runtime = new RuntimeOptions({ readTimeout: options.timeoutMs, connectTimeout: options.timeoutMs, autoretry: false });

  return {
    async call(action, params) {
      const request = new OpenApiRequest({
        // query() flattens lists to Name.1..N; a raw array would be sent as a repeated key and break the signature (§6.4).
        query: OpenApiUtil.query(params),
      });
      const response = await client.callApi(new Params({
        action, version: API_VERSION, protocol: 'HTTPS', pathname: '/', method: 'POST',
        authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json',
      }), request, runtime);
      const requestId = response.headers?.['x-acs-request-id'];
      return { statusCode: Number(response.statusCode), body: response.body, requestId: typeof requestId === 'string' ? requestId : null };
    },
  };
}

/**
 * openapi-core sends through httpx, which starts a read timer per request (OUTBOUNDBOT_TIMEOUT_MS
 * long) that only httpx's own body reader clears; openapi-core reads bodies with its own, so every
 * timer ran its full length and held its request, its response and three copies of the URL (3.5 KB
 * with 99 job ids): at the tail of a 100,000-lead sync, ~700 of them, and the heap's limit grew with
 * them (issue 12, peak RSS). A timer that did fire, a timeout later, would also clear the timer of
 * whatever request its keep-alive socket carried by then. So: each such request's timer is cleared
 * once its answer has been read. Only openapi-core's requests (x-acs-action) are touched.
 */
subscribe('http.client.request.start', (message) => {
  const { request } = message as { request: ClientRequest };
  if (!request.getHeader('x-acs-action')) return;
  request.once('response', (response) => {
    const socket = request.socket as (NonNullable<ClientRequest['socket']> & Record<symbol, unknown>) | null;
    const key = socket && Object.getOwnPropertySymbols(socket).find((s) => s.description === 'TIMER::READ_TIMER');
    if (!socket || !key) return;
    const timer = socket[key] as NodeJS.Timeout | null;
    const clear = () => {
      if (timer) clearTimeout(timer);
      if (socket[key] === timer) socket[key] = null;
    };
    response.once('end', clear);
    response.once('close', clear);
  });
});

function endpointParts(endpoint: string): { host: string; protocol: 'http' | 'https' } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`OutboundBot endpoint "${endpoint}" is not a URL; give it with its scheme, e.g. https://outboundbot.cn-shanghai.aliyuncs.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`OutboundBot endpoint "${endpoint}" must start with http:// or https://`);
  }
  if (url.pathname !== '/' || url.search) {
    throw new Error(`OutboundBot endpoint "${endpoint}" must have no path or query: the RPC API lives at "/"`);
  }
  return { host: url.host, protocol: url.protocol === 'https:' ? 'https' : 'http' };
}
