/**
 * A fake `wx` that follows the documented mini-program API, backed by real networking, so the SDK's
 * mini-program code runs against a real server:
 *
 * - wx.connectSocket → SocketTask over a REAL WebSocket (`ws`): every frame the SDK writes reaches the
 *   server's Engine.IO / Socket.IO stack as is.
 *   https://developers.weixin.qq.com/miniprogram/dev/api/network/websocket/wx.connectSocket.html
 *   https://developers.weixin.qq.com/miniprogram/dev/api/network/websocket/SocketTask.html
 * - wx.request → a real HTTP request (fetch); `success` for every status, `fail` only without an answer;
 *   dataType 'json' parses the body, anything else leaves it a string.
 *   https://developers.weixin.qq.com/miniprogram/dev/api/network/request/wx.request.html
 * - wx.uploadFile → a real multipart/form-data POST of a local file (the multipart file name is the
 *   path's base name, as in WeChat, where it cannot be chosen).
 *   https://developers.weixin.qq.com/miniprogram/dev/api/network/upload/wx.uploadFile.html
 * - wx.getStorageSync ('' for an absent key) / setStorageSync / removeStorageSync, network status and
 *   app-show listeners.
 *
 * Calls that deviate from the documented API (missing url / filePath / name, a method WeChat does not
 * have, a non-ws(s) socket URL, send on a socket that is not open) fail with `{ errMsg }` like WeChat.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type {
  WxApi,
  WxConnectSocketOptions,
  WxRequestOptions,
  WxSocketTask,
  WxUploadFileOptions,
  WxUploadTask,
} from '../src/wx-api.ts';

const METHODS = new Set(['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'CONNECT']);

type Frame = { dir: 'out' | 'in'; data: string | ArrayBuffer };

export interface FakeSocketTask extends WxSocketTask {
  readonly url: string;
  readonly header: Record<string, string>;
  /** Every frame sent (out) and received (in), in order. */
  readonly frames: Frame[];
  readonly readyState: number;
  /** Drops the TCP connection without a closing handshake, as a lost network: onClose(1006). */
  drop(): void;
  /** Delivers nothing more in either direction, not even a close: a stalled link. */
  stall(): void;
  /** Frames still go out, but nothing comes back: the answer to what was just sent is lost. */
  loseIncoming(): void;
}

export interface FakeWx extends WxApi {
  readonly sockets: FakeSocketTask[];
  readonly requests: Array<{ method: string; url: string; header: Record<string, string>; data?: unknown }>;
  readonly uploads: Array<{ url: string; filePath: string; name: string; header: Record<string, string> }>;
  readonly storage: Map<string, unknown>;
  /** A local file as wx.chooseMedia would hand it out: returns its tempFilePath. */
  addTempFile(name: string, bytes: Uint8Array): string;
  /** Drops every open socket (network loss). */
  dropSockets(): void;
  /** While set, connectSocket fails with this errMsg (e.g. "url not in domain list"). */
  refuseConnect: string | null;
  /** Fires the onNetworkStatusChange listeners. */
  setNetwork(isConnected: boolean): void;
  /** Fires the onAppShow listeners. */
  showApp(): void;
  /** Closes all sockets; call in afterAll. */
  closeAll(): void;
}

/** WeChat calls back asynchronously, never inside the call. */
const later = (fn: () => void) => setTimeout(fn, 0);

export function createFakeWx(): FakeWx {
  const sockets: FakeSocketTask[] = [];
  const requests: FakeWx['requests'] = [];
  const uploads: FakeWx['uploads'] = [];
  const storage = new Map<string, unknown>();
  const files = new Map<string, Uint8Array>();
  const networkListeners = new Set<(r: { isConnected: boolean; networkType: string }) => void>();
  const showListeners = new Set<(r: unknown) => void>();

  const fake: FakeWx = {
    sockets,
    requests,
    uploads,
    storage,
    refuseConnect: null,

    connectSocket(options: WxConnectSocketOptions): WxSocketTask {
      const task = createSocketTask(options, fake.refuseConnect);
      sockets.push(task);
      return task;
    },

    request(options: WxRequestOptions): unknown {
      const method = options.method ?? 'GET';
      const header = { ...(options.header ?? {}) };
      requests.push({ method, url: options.url, header, data: options.data });
      if (!options.url || !METHODS.has(method)) {
        later(() => options.fail?.({ errMsg: `request:fail invalid ${!options.url ? 'url' : `method ${method}`}` }));
        return {};
      }
      // wx: content-type defaults to application/json; a non-string body is serialized.
      header['content-type'] ??= 'application/json';
      let body: string | undefined;
      if (options.data !== undefined && method !== 'GET') {
        body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
      }
      fetch(options.url, { method, headers: header, ...(body === undefined ? {} : { body }) })
        .then(async (res) => {
          const text = await res.text();
          let data: unknown = text;
          if ((options.dataType ?? 'json') === 'json') {
            try {
              data = JSON.parse(text);
            } catch {
              data = text;
            }
          }
          const headers: Record<string, string> = {};
          res.headers.forEach((v, k) => (headers[k] = v));
          const result = { data, statusCode: res.status, header: headers, errMsg: 'request:ok' };
          options.success?.(result);
          options.complete?.(result);
        })
        .catch((err: unknown) => {
          const result = { errMsg: `request:fail ${err instanceof Error ? err.message : String(err)}` };
          options.fail?.(result);
          options.complete?.(result);
        });
      return { abort() {} };
    },

    uploadFile(options: WxUploadFileOptions): WxUploadTask {
      const header = { ...(options.header ?? {}) };
      uploads.push({ url: options.url, filePath: options.filePath, name: options.name, header });
      const progress = new Set<(r: { progress: number; totalBytesSent: number; totalBytesExpectedToSend: number }) => void>();
      const controller = new AbortController();
      const bytes = files.get(options.filePath);
      if (!options.url || !options.name || !bytes) {
        const why = !options.url ? 'url' : !options.name ? 'name' : `file not found ${options.filePath}`;
        later(() => options.fail?.({ errMsg: `uploadFile:fail ${why}` }));
        return { abort() {}, onProgressUpdate: (l) => progress.add(l) };
      }
      const form = new FormData();
      for (const [k, v] of Object.entries(options.formData ?? {})) form.append(k, v);
      form.append(options.name, new Blob([new Uint8Array(bytes)]), options.filePath.split('/').pop());
      // WeChat sets the multipart content-type itself; a caller's content-type would break the boundary.
      delete header['content-type'];
      fetch(options.url, { method: 'POST', headers: header, body: form, signal: controller.signal })
        .then(async (res) => {
          for (const l of progress) l({ progress: 100, totalBytesSent: bytes.length, totalBytesExpectedToSend: bytes.length });
          const result = { data: await res.text(), statusCode: res.status, errMsg: 'uploadFile:ok' };
          options.success?.(result);
          options.complete?.(result);
        })
        .catch((err: unknown) => {
          const result = { errMsg: `uploadFile:fail ${err instanceof Error ? err.message : String(err)}` };
          options.fail?.(result);
          options.complete?.(result);
        });
      return { abort: () => controller.abort(), onProgressUpdate: (l) => progress.add(l) };
    },

    getStorageSync(key: string): unknown {
      return storage.has(key) ? storage.get(key) : '';
    },
    setStorageSync(key: string, value: unknown): void {
      storage.set(key, value);
    },
    removeStorageSync(key: string): void {
      storage.delete(key);
    },
    onNetworkStatusChange: (l) => networkListeners.add(l),
    offNetworkStatusChange: (l) => networkListeners.delete(l),
    onAppShow: (l) => showListeners.add(l),
    offAppShow: (l) => showListeners.delete(l),

    addTempFile(name: string, bytes: Uint8Array): string {
      const path = `wxfile://tmp_${randomBytes(6).toString('hex')}_${name}`;
      files.set(path, bytes);
      return path;
    },
    dropSockets() {
      for (const s of sockets) if (s.readyState === WebSocket.OPEN) s.drop();
    },
    setNetwork(isConnected: boolean) {
      for (const l of [...networkListeners]) l({ isConnected, networkType: isConnected ? 'wifi' : 'none' });
    },
    showApp() {
      for (const l of [...showListeners]) l({ scene: 1001 });
    },
    closeAll() {
      for (const s of sockets) s.drop();
    },
  };
  return fake;
}

function createSocketTask(options: WxConnectSocketOptions, refuse: string | null): FakeSocketTask {
  const listeners = {
    open: new Set<(r: { header?: Record<string, string> }) => void>(),
    close: new Set<(r: { code: number; reason: string }) => void>(),
    error: new Set<(r: { errMsg: string }) => void>(),
    message: new Set<(r: { data: string | ArrayBuffer }) => void>(),
  };
  const frames: Frame[] = [];
  let ws: WebSocket | null = null;
  let stalled = false;
  let deaf = false;
  let closed = false;

  const fireClose = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    for (const l of [...listeners.close]) l({ code, reason });
  };

  const invalid = !/^wss?:\/\//.test(options.url ?? '');
  if (refuse || invalid) {
    later(() => {
      const r = { errMsg: `connectSocket:fail ${refuse ?? 'invalid url'}` };
      options.fail?.(r);
      options.complete?.(r);
    });
  } else {
    later(() => {
      const r = { errMsg: 'connectSocket:ok' };
      options.success?.(r);
      options.complete?.(r);
    });
    ws = new WebSocket(options.url, options.protocols ?? [], { headers: options.header ?? {}, handshakeTimeout: options.timeout ?? 60_000 });
    ws.on('open', () => {
      for (const l of [...listeners.open]) l({ header: {} });
    });
    ws.on('message', (data, isBinary) => {
      if (stalled || deaf) return;
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      const value: string | ArrayBuffer = isBinary ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer : buf.toString('utf8');
      frames.push({ dir: 'in', data: value });
      for (const l of [...listeners.message]) l({ data: value });
    });
    ws.on('error', (err) => {
      for (const l of [...listeners.error]) l({ errMsg: err.message });
    });
    // A stalled link delivers nothing, not even the server closing it: only a heartbeat can tell.
    ws.on('close', (code, reason) => {
      if (!stalled) fireClose(code, code === 1006 ? 'abnormal closure' : reason.toString('utf8'));
    });
  }

  const task: FakeSocketTask = {
    url: options.url,
    header: options.header ?? {},
    frames,
    get readyState() {
      return ws?.readyState ?? WebSocket.CLOSED;
    },
    send({ data, success, fail, complete }) {
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        later(() => {
          const r = { errMsg: 'sendSocketMessage:fail WebSocket is not connected' };
          fail?.(r);
          complete?.(r);
        });
        return;
      }
      frames.push({ dir: 'out', data });
      if (!stalled) ws.send(data);
      later(() => {
        const r = { errMsg: 'sendSocketMessage:ok' };
        success?.(r);
        complete?.(r);
      });
    },
    close({ code = 1000, reason = '', success, complete } = {}) {
      if (ws && ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else if (ws && ws.readyState === WebSocket.OPEN) ws.close(code, reason);
      later(() => {
        const r = { errMsg: 'closeSocket:ok' };
        success?.(r);
        complete?.(r);
      });
    },
    onOpen: (l) => listeners.open.add(l),
    onClose: (l) => listeners.close.add(l),
    onError: (l) => listeners.error.add(l),
    onMessage: (l) => listeners.message.add(l),
    drop() {
      ws?.terminate();
    },
    stall() {
      stalled = true;
    },
    loseIncoming() {
      deaf = true;
    },
  };
  return task;
}
