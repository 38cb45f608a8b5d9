import type { AttachmentRef, ErrorBody } from '@huiliu/contracts';

/**
 * The one way the workbench talks HTTP to the server: JSON in and out, the session token in the
 * Authorization header, errors as `ApiError` carrying the server's stable code and field issues.
 * A 401 anywhere ends the session: `onSessionExpired` listeners (the session provider) send the agent to
 * the login page — drafts live in localStorage (see drafts.ts), so nothing typed is lost.
 */
const TOKEN_KEY = 'huiliu.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const getToken = (): string | null => localStorage.getItem(TOKEN_KEY);
export const setToken = (token: string | null): void => {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
};

const expiredListeners = new Set<() => void>();
export function onSessionExpired(listener: () => void): () => void {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}
function sessionExpired(): void {
  setToken(null);
  for (const l of expiredListeners) l();
}

async function toError(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as ErrorBody | null;
  const e = body?.error;
  return new ApiError(res.status, e?.code ?? 'internal', e?.message ?? `${res.status} ${res.statusText}`, e?.issues ?? []);
}

export async function api<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const token = getToken();
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new ApiError(0, 'network', 'the server cannot be reached; check your connection');
  }
  if (res.status === 401 && token) sessionExpired();
  if (!res.ok) throw await toError(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Builds `?a=1&b=2` from the defined values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/**
 * Multipart upload with progress (fetch has no upload progress; XMLHttpRequest does).
 * `path` is relative to /api/v1, e.g. '/attachments' or '/contacts/imports'.
 */
export function upload<T = AttachmentRef>(path: string, file: File, onProgress?: (fraction: number) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1${path}`);
    const token = getToken();
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress?.(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'the upload failed; check your connection'));
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as T);
      if (xhr.status === 401 && token) sessionExpired();
      const e = (body as ErrorBody | null)?.error;
      reject(new ApiError(xhr.status, e?.code ?? 'internal', e?.message ?? `upload failed (${xhr.status})`, e?.issues ?? []));
    };
    const form = new FormData();
    form.append('file', file);
    xhr.send(form);
  });
}
