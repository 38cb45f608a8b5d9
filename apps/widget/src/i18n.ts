/**
 * UI strings in both languages the product ships with. Kept as two flat objects (no ICU library): the
 * widget is size-budgeted and its strings only need `{name}` placeholders. The `zh` table is typed
 * against `en`, so a key missing in one language is a compile error rather than a blank button.
 */

export type Locale = 'zh-CN' | 'en';
export type LocaleSetting = Locale | 'auto';

const en = {
  open: 'Open chat',
  openUnread: 'Open chat, {n} unread',
  close: 'Close chat',
  dialog: 'Chat with {name}',
  messages: 'Messages',
  replyTime: 'We typically reply within minutes',
  connecting: 'Connecting…',
  offline: 'Offline — messages will be sent when you are back online',
  greeting: 'Hi! How can we help you today?',
  placeholder: 'Type a message…',
  send: 'Send',
  attach: 'Send an image or a file',
  emoji: 'Insert emoji',
  sending: 'Sending…',
  failed: 'Not sent',
  retry: 'Retry',
  read: 'Read',
  typing: '{name} is typing…',
  agent: 'Agent',
  bot: 'Assistant',
  queue: 'You are number {n} in line, about {m} min',
  queueSoon: 'You are number {n} in line, less than a minute',
  prechatTitle: 'Before we start, please tell us how to reach you.',
  name: 'Name',
  email: 'Email',
  start: 'Start chat',
  nameRequired: 'Please enter your name.',
  emailInvalid: 'Please enter a valid email address, like name@example.com.',
  offerTitle: "No one has answered yet. Leave your email and we'll reply there.",
  save: 'Save',
  saved: "Thanks! We'll reply to {email}.",
  tooLarge: 'This file is too large ({size}); the limit is {max}.',
  badType: 'This file type is not supported ({type}).',
  uploadFailed: 'Upload failed: {msg}',
  uploading: 'Uploading {name}',
  cancelUpload: 'Cancel upload',
  connectFailed: 'We could not reach the chat service. Please try again in a moment.',
  file: 'File',
  earlier: 'Show earlier messages',
  dismiss: 'Dismiss',
  poweredBy: 'Powered by Huiliu',
};

export type Strings = typeof en;
export type StringKey = keyof Strings;

const zh: Strings = {
  open: '打开在线客服',
  openUnread: '打开在线客服，{n} 条未读消息',
  close: '关闭对话窗口',
  dialog: '与{name}对话',
  messages: '消息',
  replyTime: '通常几分钟内回复',
  connecting: '正在连接…',
  offline: '网络已断开，恢复后消息会自动发送',
  greeting: '您好！有什么可以帮您？',
  placeholder: '请输入消息…',
  send: '发送',
  attach: '发送图片或文件',
  emoji: '插入表情',
  sending: '发送中…',
  failed: '发送失败',
  retry: '重试',
  read: '已读',
  typing: '{name} 正在输入…',
  agent: '客服',
  bot: '智能助手',
  queue: '您当前排在第 {n} 位，预计等待约 {m} 分钟',
  queueSoon: '您当前排在第 {n} 位，预计不到 1 分钟',
  prechatTitle: '开始对话前，请留下您的联系方式。',
  name: '姓名',
  email: '邮箱',
  start: '开始对话',
  nameRequired: '请填写您的姓名。',
  emailInvalid: '请输入有效的邮箱地址，例如 name@example.com。',
  offerTitle: '暂时没有客服回复。留下您的邮箱，我们会通过邮件回复您。',
  save: '提交',
  saved: '已保存，我们会回复到 {email}。',
  tooLarge: '文件太大（{size}），最大允许 {max}。',
  badType: '不支持该文件类型（{type}）。',
  uploadFailed: '上传失败：{msg}',
  uploading: '正在上传 {name}',
  cancelUpload: '取消上传',
  connectFailed: '暂时无法连接客服，请稍后再试。',
  file: '文件',
  earlier: '查看更早的消息',
  dismiss: '关闭提示',
  poweredBy: '由 汇流 Huiliu 提供支持',
};

export type Translate = (key: StringKey, params?: Record<string, string | number>) => string;

export function translator(locale: Locale): Translate {
  const table = locale === 'en' ? en : zh;
  return (key, params) => table[key].replace(/\{(\w+)\}/g, (all, name: string) => (params && name in params ? String(params[name]) : all));
}

/**
 * The inbox setting wins unless it is 'auto'; then the browser's preferred languages decide. Any Chinese
 * variant (zh, zh-TW, zh-Hant…) gets 简体中文, the only Chinese we ship; everything else gets English.
 */
export function resolveLocale(setting: LocaleSetting | undefined, languages: readonly string[]): Locale {
  if (setting === 'zh-CN' || setting === 'en') return setting;
  for (const lang of languages) {
    const l = lang.toLowerCase();
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 102.4) / 10} KB`;
  return `${Math.round(n / (1024 * 102.4)) / 10} MB`;
}
