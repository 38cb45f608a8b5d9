/**
 * The part of the WeChat mini-program API (`wx`) the SDK uses, typed after the official reference so the
 * SDK needs no mini-program typings package and tests can hand in a fake:
 *
 * - wx.connectSocket / SocketTask  https://developers.weixin.qq.com/miniprogram/dev/api/network/websocket/wx.connectSocket.html
 * - wx.request                      https://developers.weixin.qq.com/miniprogram/dev/api/network/request/wx.request.html
 * - wx.uploadFile                   https://developers.weixin.qq.com/miniprogram/dev/api/network/upload/wx.uploadFile.html
 * - wx.getStorageSync / setStorageSync / removeStorageSync
 * - wx.onNetworkStatusChange / wx.onAppShow (optional: reconnect at once when the network or the app is back)
 *
 * Every callback-style call reports failures as `{ errMsg }`, e.g. "request:fail url not in domain list".
 */

export interface WxFailResult {
  readonly errMsg: string;
}

interface WxCallbacks<S> {
  success?: (result: S) => void;
  fail?: (result: WxFailResult) => void;
  complete?: (result: S | WxFailResult) => void;
}

export interface WxConnectSocketOptions extends WxCallbacks<{ errMsg: string }> {
  /** Must be wss:// in production, on the mini-program's socket domain list. */
  url: string;
  /** Referer cannot be set. */
  header?: Record<string, string>;
  protocols?: string[];
  tcpNoDelay?: boolean;
  perMessageDeflate?: boolean;
  /** ms, base library 2.10.0+. */
  timeout?: number;
}

export interface WxSocketTask {
  send(options: { data: string | ArrayBuffer } & WxCallbacks<{ errMsg: string }>): void;
  close(options: { code?: number; reason?: string } & WxCallbacks<{ errMsg: string }>): void;
  onOpen(listener: (result: { header?: Record<string, string>; profile?: unknown }) => void): void;
  onClose(listener: (result: { code: number; reason: string }) => void): void;
  onError(listener: (result: WxFailResult) => void): void;
  onMessage(listener: (result: { data: string | ArrayBuffer }) => void): void;
}

export interface WxRequestOptions
  extends WxCallbacks<{ data: unknown; statusCode: number; header: Record<string, string>; errMsg?: string }> {
  url: string;
  /** PATCH is not among wx.request's methods. */
  method?: 'OPTIONS' | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'TRACE' | 'CONNECT';
  /** A string is sent as is; objects would be serialized by wx (we always pass strings). */
  data?: string | Record<string, unknown> | ArrayBuffer;
  header?: Record<string, string>;
  timeout?: number;
  /** 'json' (default) parses the body; any other value leaves it a string. */
  dataType?: string;
  responseType?: 'text' | 'arraybuffer';
}

export interface WxUploadFileOptions extends WxCallbacks<{ data: string; statusCode: number; errMsg?: string }> {
  url: string;
  /** A local path, e.g. a tempFilePath from wx.chooseMedia / wx.chooseMessageFile. */
  filePath: string;
  /** The multipart field name of the file. */
  name: string;
  header?: Record<string, string>;
  formData?: Record<string, string>;
  timeout?: number;
}

export interface WxUploadTask {
  abort(): void;
  onProgressUpdate?(listener: (result: { progress: number; totalBytesSent: number; totalBytesExpectedToSend: number }) => void): void;
}

export interface WxApi {
  connectSocket(options: WxConnectSocketOptions): WxSocketTask;
  request(options: WxRequestOptions): unknown;
  uploadFile(options: WxUploadFileOptions): WxUploadTask;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, value: unknown): void;
  removeStorageSync?(key: string): void;
  onNetworkStatusChange?(listener: (result: { isConnected: boolean; networkType: string }) => void): void;
  offNetworkStatusChange?(listener: (result: { isConnected: boolean; networkType: string }) => void): void;
  onAppShow?(listener: (result: unknown) => void): void;
  offAppShow?(listener: (result: unknown) => void): void;
}

/** The global `wx` of a mini-program, or undefined elsewhere. */
export function globalWx(): WxApi | undefined {
  return (globalThis as { wx?: WxApi }).wx;
}
