/**
 * Calls to the Graph API for the WhatsApp Cloud API and the mapping of its errors to ChannelError.
 *
 * Error body (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes):
 *   { "error": { "message", "type", "code", "error_data": { "messaging_product", "details" }, "fbtrace_id" } }
 * Meta recommends building error handling on `code` and `error_data.details`, not on titles.
 */
import type { ChannelContext, ChannelHttpRequest, ChannelHttpResponse } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import type { WhatsAppConfig } from './config.ts';

export interface GraphError {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  error_data?: { messaging_product?: string; details?: string };
  fbtrace_id?: string;
}

export function accessToken(ctx: ChannelContext<WhatsAppConfig>): string {
  const token = ctx.secrets.accessToken;
  if (!token) throw new ChannelError('not_configured', 'WhatsApp access token is not set: paste a system user access token into the inbox channel settings (secret "accessToken")', { retryable: false });
  return token;
}

export async function graphExchange(ctx: ChannelContext<WhatsAppConfig>, url: string, init: ChannelHttpRequest): Promise<ChannelHttpResponse> {
  const token = accessToken(ctx);
  try {
    return await ctx.http(url, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${token}` } });
  } catch (err) {
    if (err instanceof ChannelError) throw err;
    const reason = (err instanceof Error ? err.message : String(err)).split(token).join('<access-token>');
    throw new ChannelError('network', `WhatsApp Graph API unreachable: ${reason}`);
  }
}

/** Sends one Graph API request and returns the parsed JSON answer, or throws the mapped error. */
export async function callGraph<T>(ctx: ChannelContext<WhatsAppConfig>, what: string, url: string, init: ChannelHttpRequest): Promise<T> {
  const res = await graphExchange(ctx, url, init);
  let body: unknown;
  try {
    body = res.json();
  } catch {
    body = undefined;
  }
  if (res.status >= 200 && res.status < 300 && body && typeof body === 'object') return body as T;
  const error = body && typeof body === 'object' && 'error' in body ? (body as { error: GraphError }).error : undefined;
  throw graphError(what, res.status, error);
}

/** Codes of https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes we act on. */
const RATE_LIMIT_CODES = new Set([4, 80007, 130429, 131048, 131056]);
const RECIPIENT_CODES = new Set([131026, 131030, 131021]);
const AUTH_CODES = new Set([0, 190]);
const TRANSIENT_CODES = new Set([1, 2, 131000, 131016]);

export function graphError(what: string, status: number, e: GraphError | undefined): ChannelError {
  const code = e?.code;
  const details = e?.error_data?.details;
  const text = `WhatsApp ${what} failed (${code ?? `HTTP ${status}`}): ${e?.message ?? `HTTP ${status}`}${details ? ` — ${details}` : ''}`;
  if (code === 131047) {
    return new ChannelError('window_closed', `${text}. More than 24 hours passed since the customer's last message: send an approved template instead`, { retryable: false });
  }
  if (code !== undefined && RECIPIENT_CODES.has(code)) return new ChannelError('recipient_invalid', text, { retryable: false });
  if ((code !== undefined && RATE_LIMIT_CODES.has(code)) || status === 429) return new ChannelError('rate_limited', text, { retryable: true });
  if ((code !== undefined && AUTH_CODES.has(code)) || status === 401) {
    return new ChannelError('unauthorized', `${text}. Check the access token in the inbox channel settings`, { retryable: false });
  }
  if ((code !== undefined && TRANSIENT_CODES.has(code)) || status >= 500) return new ChannelError('provider_error', text, { retryable: true });
  return new ChannelError('provider_error', text, { retryable: false });
}
