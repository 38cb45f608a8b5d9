// What both entry points export besides `createHuiliu`.
export { createHuiliuCore } from './huiliu.ts';
export type {
  Huiliu,
  HuiliuCoreOptions,
  HuiliuEvents,
  HuiliuIdentity,
  HuiliuSendHandle,
  HuiliuSendInput,
  HuiliuSendResult,
  HuiliuSession,
  SendFailure,
  TransportContext,
  TransportFactory,
} from './huiliu.ts';
export type { HuiliuOptions, Platform } from './platform.ts';
export { detectPlatform } from './platform.ts';
export { HuiliuError, isHuiliuError, type HuiliuErrorCode } from './errors.ts';
export { createFetchHttp, type BlobLike, type FileInput, type HttpAdapter, type HttpRequest, type HttpResponse, type UploadRequest } from './http.ts';
export { createAsyncStorage, createLocalStorage, createMemoryStorage, type AsyncStorageLike, type StorageAdapter } from './storage.ts';
export type { MessagesPage, VisitorConversation, WidgetAgent } from './api.ts';
export { createWxHttp, createWxStorage } from './wx-adapters.ts';
export { createWxSocketTransport, type WxSocketTransportOptions } from './wx-socket-transport.ts';
export type { WxApi, WxSocketTask } from './wx-api.ts';
export type { ChatStatus, ReadEvent, TimelineItem, Transport, TypingEvent } from '@huiliu/client';
export type { AttachmentRef, Message } from '@huiliu/contracts';
