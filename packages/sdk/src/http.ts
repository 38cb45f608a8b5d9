/**
 * HTTP through an injectable adapter: `fetch` on the web, in Node and React Native; `wx.request` +
 * `wx.uploadFile` in mini-programs (wx-adapters.ts). Adapters only move bytes: they resolve with whatever
 * status the server answered and reject only when no answer came (offline, DNS, a domain not allowed).
 */

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text; absent for GET. */
  readonly body?: string;
}

export interface HttpResponse {
  readonly status: number;
  /** The body as text (JSON for every Huiliu endpoint the SDK calls). */
  readonly body: string;
}

/** Enough of a Blob for an upload, without depending on DOM typings. */
export interface BlobLike {
  readonly size: number;
  readonly type: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * A file to upload:
 * - `{ data, name, type? }` with the bytes: a web `File`/`Blob`, or a Node `Buffer`/`Uint8Array`;
 * - `{ path, name?, type? }`: a local file path, i.e. a mini-program `tempFilePath` (wx.chooseMedia,
 *   wx.chooseMessageFile) or a React Native `file://` / `content://` uri.
 * The server decides the type from the bytes either way.
 */
export type FileInput =
  | { readonly data: BlobLike | ArrayBuffer | Uint8Array; readonly name: string; readonly type?: string }
  | { readonly path: string; readonly name?: string; readonly type?: string };

export interface UploadRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The multipart field name (Huiliu: "file"). */
  readonly field: string;
  readonly file: FileInput;
  readonly onProgress?: ((fraction: number) => void) | undefined;
}

export interface HttpAdapter {
  request(request: HttpRequest): Promise<HttpResponse>;
  /** A multipart/form-data POST with one file field. */
  upload(request: UploadRequest): Promise<HttpResponse>;
}

/** The parts of the Fetch API the adapter uses, typed here so the SDK needs no DOM typings. */
type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: unknown; credentials?: 'omit' },
) => Promise<{ status: number; text(): Promise<string> }>;

interface FormDataLike {
  append(name: string, value: unknown, fileName?: string): void;
}

interface FetchGlobals {
  fetch?: FetchLike;
  FormData?: new () => FormDataLike;
  Blob?: new (parts: unknown[], options?: { type?: string }) => BlobLike;
  navigator?: { product?: string };
}

/**
 * HttpAdapter over `fetch` (browsers, Node 18+, React Native). Cookies are never sent: the visitor token
 * is the only credential. Upload progress is not reported (fetch has no upload progress events).
 */
export function createFetchHttp(fetchImpl?: FetchLike): HttpAdapter {
  const g = globalThis as FetchGlobals;
  const doFetch = (): FetchLike => {
    const f = fetchImpl ?? g.fetch;
    if (!f) throw new Error('no fetch in this runtime: pass `http` (an HttpAdapter) to createHuiliu');
    return f;
  };

  return {
    async request(req) {
      const res = await doFetch()(req.url, {
        method: req.method,
        headers: { ...req.headers },
        ...(req.body === undefined ? {} : { body: req.body }),
        credentials: 'omit',
      });
      return { status: res.status, body: await res.text() };
    },

    async upload(req) {
      const FormDataCtor = g.FormData;
      if (!FormDataCtor) throw new Error('no FormData in this runtime: pass `http` (an HttpAdapter) to createHuiliu');
      const form = new FormDataCtor();
      const file = req.file;
      if ('path' in file) {
        // React Native's FormData takes a { uri, name, type } descriptor and streams the file itself.
        if (g.navigator?.product !== 'ReactNative') {
          throw new Error('a file `path` can only be uploaded in a mini-program or React Native; pass { data, name } here');
        }
        form.append(req.field, { uri: file.path, name: file.name ?? baseName(file.path), type: file.type ?? 'application/octet-stream' });
      } else {
        form.append(req.field, toBlob(file.data, file.type, g), file.name);
      }
      const res = await doFetch()(req.url, { method: 'POST', headers: { ...req.headers }, body: form, credentials: 'omit' });
      req.onProgress?.(1);
      return { status: res.status, body: await res.text() };
    },
  };
}

function toBlob(data: BlobLike | ArrayBuffer | Uint8Array, type: string | undefined, g: FetchGlobals): BlobLike {
  if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return data;
  const BlobCtor = g.Blob;
  if (!BlobCtor) throw new Error('no Blob in this runtime: pass `http` (an HttpAdapter) to createHuiliu');
  return new BlobCtor([data], type ? { type } : {});
}

export function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || 'file';
}
