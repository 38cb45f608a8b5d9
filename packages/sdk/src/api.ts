import type { AttachmentRef, Message } from '@huiliu/contracts';
import { HuiliuError } from './errors.ts';
import type { FileInput, HttpAdapter, HttpResponse } from './http.ts';

/**
 * The visitor REST API (`/api/widget/v1`, the same endpoints the web widget uses). Types are type-only
 * imports from the contracts: the zod schemas stay out of app bundles; the server validates.
 */

export interface VisitorConversation {
  readonly id: string;
  readonly displayId: number;
  readonly status: string;
  readonly lastSeq: number;
  readonly lastActivityAt: string;
  readonly createdAt: string;
}

export interface SessionBody {
  inboxPublicId: string;
  visitorToken?: string;
  name?: string;
  email?: string;
  locale?: string;
  identifier?: string;
  identifierHash?: string;
}

export interface SessionResponse {
  readonly visitorToken: string;
  readonly contactId: string;
  readonly conversations: readonly VisitorConversation[];
}

export interface MessagesPage {
  readonly items: readonly Message[];
  readonly lastSeq: number;
  readonly hasMore: boolean;
}

export interface WidgetAgent {
  readonly id: string;
  readonly name: string;
  readonly avatarUrl: string | null;
}

export interface QueueStatus {
  readonly position: number | null;
  readonly estimatedWaitSeconds: number | null;
}

export function createWidgetApi(baseUrl: string, http: HttpAdapter, getToken: () => string | null) {
  const root = `${baseUrl}/api/widget/v1`;
  const headers = (json: boolean): Record<string, string> => {
    const h: Record<string, string> = { accept: 'application/json' };
    if (json) h['content-type'] = 'application/json';
    const token = getToken();
    if (token) h.authorization = `Bearer ${token}`;
    return h;
  };

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: HttpResponse;
    try {
      res = await http.request({
        method,
        url: root + path,
        headers: headers(body !== undefined),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw networkError(err);
    }
    return parse<T>(res);
  }

  return {
    session: (body: SessionBody) => call<SessionResponse>('POST', '/sessions', body),
    createConversation: () => call<{ conversation: VisitorConversation }>('POST', '/conversations', {}),
    conversations: () => call<VisitorConversation[]>('GET', '/conversations'),
    messages(conversationId: string, query: { beforeSeq?: number; afterSeq?: number; limit: number }) {
      const q = Object.entries(query)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
        .join('&');
      return call<MessagesPage>('GET', `/conversations/${encodeURIComponent(conversationId)}/messages?${q}`);
    },
    agents: (conversationId: string) => call<WidgetAgent[]>('GET', `/conversations/${encodeURIComponent(conversationId)}/agents`),
    queue: (conversationId: string) => call<QueueStatus>('GET', `/conversations/${encodeURIComponent(conversationId)}/queue`),
    async upload(file: FileInput, onProgress?: (fraction: number) => void): Promise<AttachmentRef> {
      let res: HttpResponse;
      try {
        res = await http.upload({ url: `${root}/attachments`, headers: headers(false), field: 'file', file, onProgress });
      } catch (err) {
        if (err instanceof HuiliuError) throw err;
        throw networkError(err);
      }
      return parse<AttachmentRef>(res);
    },
  };
}

export type WidgetApi = ReturnType<typeof createWidgetApi>;

function networkError(err: unknown): HuiliuError {
  const detail = err instanceof Error ? err.message : String(err);
  return new HuiliuError('network', `the Huiliu server did not answer (${detail})`);
}

/** A 2xx JSON body, or the server's `{ error: { code, message, issues } }` as a HuiliuError. */
function parse<T>(res: HttpResponse): T {
  let json: unknown;
  try {
    json = res.body === '' ? undefined : JSON.parse(res.body);
  } catch {
    json = undefined;
  }
  if (res.status >= 200 && res.status < 300 && json !== undefined) return json as T;
  const e = (json as { error?: { code?: string; message?: string; issues?: [] } } | undefined)?.error;
  if (e?.message) return fail(new HuiliuError((e.code ?? 'internal') as HuiliuError['code'], e.message, res.status, e.issues));
  // Not our JSON: a proxy's error page, or a gateway in front of Huiliu.
  return fail(new HuiliuError(res.status === 413 ? 'payload_too_large' : 'internal', `unexpected answer from the server (HTTP ${res.status})`, res.status));
}

function fail(error: HuiliuError): never {
  throw error;
}
