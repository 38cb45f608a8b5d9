import type { AttachmentRef, Message, WidgetSettings } from '@huiliu/contracts';

/**
 * The widget's REST calls (`/api/widget/v1`). Types come from the contracts as type-only imports: pulling
 * the zod schemas in would cost more than the whole widget budget. The server validates; we trust its
 * answers' shape.
 */

/** `uploads` is being added to the config; until then the client-side checks are skipped. */
export interface WidgetConfig {
  inboxPublicId: string;
  name: string;
  widget: WidgetSettings;
  uploads?: { maxBytes: number; contentTypes: string[] };
}

export interface VisitorConversation {
  id: string;
  displayId: number;
  status: string;
  lastSeq: number;
  lastActivityAt: string;
  createdAt: string;
}

export interface Session {
  visitorToken: string;
  contactId: string;
  conversations: VisitorConversation[];
}

export interface MessagesPage {
  items: Message[];
  lastSeq: number;
  hasMore: boolean;
}

export interface QueueStatus {
  queued?: boolean;
  position: number | null;
  estimatedWaitSeconds: number | null;
}

export interface Agent {
  id: string;
  name: string;
  avatarUrl: string | null;
}

/** A refusal from the server (`{ error: { code, message } }`), or `network` when no answer came. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

export interface Upload {
  readonly done: Promise<AttachmentRef>;
  abort(): void;
}

function toError(status: number, body: string): ApiError {
  try {
    const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
    if (e?.message) return new ApiError(e.code ?? 'internal', e.message, status);
  } catch {
    // not JSON (a proxy's error page): fall through
  }
  return new ApiError(status === 413 ? 'payload_too_large' : 'internal', `HTTP ${status}`, status);
}

export function createApi(base: string, getToken: () => string | undefined) {
  const root = `${base}/api/widget/v1`;
  const headers = (json: boolean): Record<string, string> => {
    const h: Record<string, string> = {};
    if (json) h['content-type'] = 'application/json';
    const token = getToken();
    if (token) h.authorization = `Bearer ${token}`;
    return h;
  };

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(root + path, {
        method,
        headers: headers(body !== undefined),
        body: body === undefined ? null : JSON.stringify(body),
        // Never send the host page's cookies to our server: the visitor token is the only credential.
        credentials: 'omit',
      });
    } catch (err) {
      throw new ApiError('network', err instanceof Error ? err.message : 'network error');
    }
    const text = await res.text();
    if (!res.ok) throw toError(res.status, text);
    return JSON.parse(text) as T;
  }

  return {
    config: (publicId: string) => call<WidgetConfig>('GET', `/inboxes/${encodeURIComponent(publicId)}/config`),
    session: (body: { inboxPublicId: string; visitorToken?: string; name?: string; email?: string; locale?: string; identifier?: string; identifierHash?: string }) =>
      call<Session>('POST', '/sessions', body),
    createConversation: () => call<{ conversation: VisitorConversation }>('POST', '/conversations', {}),
    messages: (id: string, query: { afterSeq?: number; beforeSeq?: number; limit: number }) => {
      const q = Object.entries(query).map(([k, v]) => `${k}=${v}`).join('&');
      return call<MessagesPage>('GET', `/conversations/${id}/messages?${q}`);
    },
    queue: (id: string) => call<QueueStatus>('GET', `/conversations/${id}/queue`),
    agents: (id: string) => call<Agent[]>('GET', `/conversations/${id}/agents`),
    updateContact: (body: { name?: string; email?: string }) => call<{ name: string | null; email: string | null }>('PATCH', '/contact', body),

    /** XMLHttpRequest rather than fetch: fetch still has no upload progress events. */
    upload(file: File, onProgress: (fraction: number) => void): Upload {
      const xhr = new XMLHttpRequest();
      const done = new Promise<AttachmentRef>((resolve, reject) => {
        xhr.open('POST', `${root}/attachments`);
        for (const [k, v] of Object.entries(headers(false))) xhr.setRequestHeader(k, v);
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) onProgress(e.loaded / e.total);
        };
        xhr.onload = () => {
          if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText) as AttachmentRef);
          else reject(toError(xhr.status, xhr.responseText));
        };
        xhr.onerror = () => reject(new ApiError('network', 'network error'));
        xhr.onabort = () => reject(new ApiError('cancelled', 'cancelled'));
        const form = new FormData();
        form.append('file', file, file.name);
        xhr.send(form);
      });
      return { done, abort: () => xhr.abort() };
    },
  };
}

export type Api = ReturnType<typeof createApi>;
