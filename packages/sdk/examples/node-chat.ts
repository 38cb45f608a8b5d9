/**
 * A terminal chat with a Huiliu inbox, as a customer: type a line to send it, replies are printed live.
 *
 *   npm start                                   # prints "Demo shop page http://localhost:3000/demo/<inbox id>"
 *   node --import tsx packages/sdk/examples/node-chat.ts http://localhost:3000 <inbox id>
 *
 * Commands: /file <path> sends a file, /earlier loads older messages, /new starts a new conversation,
 * /quit exits. The visitor is remembered in a file under the OS temp directory, so a second run resumes
 * the same conversation (delete the file, or pass --fresh, to start over).
 *
 * Signed-in users (identity verification): set HUILIU_IDENTIFIER and HUILIU_IDENTIFIER_HASH, the hash
 * computed by YOUR backend. For a quick try you may set HUILIU_IDENTITY_KEY instead and this script computes
 * the hash itself — never ship the key in an app.
 */
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
// In your app: import { createHuiliu, … } from '@huiliu/sdk';
import { createHuiliu, type Message, type StorageAdapter } from '../src/index.ts';

const [baseUrl, inboxId] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (!baseUrl || !inboxId) {
  console.error('usage: node --import tsx packages/sdk/examples/node-chat.ts <baseUrl> <inboxPublicId> [--fresh]');
  process.exit(2);
}

/** A StorageAdapter on a JSON file: what makes a second run resume the same visitor. */
function fileStorage(path: string): StorageAdapter {
  let data: Record<string, string> = {};
  try {
    data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch {
    data = {};
  }
  const flush = () => writeFileSync(path, JSON.stringify(data, null, 2));
  return {
    get: (key) => data[key] ?? null,
    set: (key, value) => {
      data[key] = value;
      flush();
    },
    remove: (key) => {
      delete data[key];
      flush();
    },
  };
}

const storePath = join(tmpdir(), `huiliu-node-chat-${inboxId}.json`);
if (process.argv.includes('--fresh') && existsSync(storePath)) rmSync(storePath);

const identifier = process.env.HUILIU_IDENTIFIER;
const identifierHash =
  process.env.HUILIU_IDENTIFIER_HASH ??
  (identifier && process.env.HUILIU_IDENTITY_KEY
    ? createHmac('sha256', process.env.HUILIU_IDENTITY_KEY).update(identifier).digest('hex')
    : undefined);

const chat = createHuiliu({
  baseUrl,
  inboxId,
  platform: 'node',
  storage: fileStorage(storePath),
  locale: 'zh-CN',
  ...(identifier && identifierHash ? { identity: { identifier, identifierHash, name: process.env.HUILIU_NAME ?? identifier } } : {}),
});

const time = (iso: string) => new Date(iso).toLocaleTimeString();
function print(m: Message): void {
  if (m.private) return;
  const who = m.direction === 'incoming' ? 'you' : m.direction === 'activity' ? '--' : m.senderType === 'bot' ? 'bot' : 'agent';
  const files = m.attachments.map((a) => ` [${a.fileName} ${chat.absoluteUrl(a.url)}]`).join('');
  console.log(`${time(m.createdAt)} ${who}> ${m.text}${files}`);
}

chat.on('status', (s) => console.log(`(${s})`));
chat.on('error', (e) => console.error(`(error ${e.code}: ${e.message})`));
chat.on('typing', (e) => {
  if (e.senderType !== 'contact') console.log(e.typing ? `(${e.senderName ?? 'agent'} is typing…)` : '');
});
chat.on('read', (e) => {
  if (e.readerType === 'user') console.log(`(read up to #${e.seq})`);
});
chat.on('queue', (q) => {
  if (q.position !== null) console.log(`(you are number ${q.position} in the queue)`);
});
chat.on('message', (m) => {
  // Our own messages are echoed by the send result below; print what others wrote.
  if (m.direction !== 'incoming') {
    print(m);
    chat.markRead(m.seq);
  }
});

try {
  const session = await chat.connect();
  console.log(`connected as contact ${session.contactId}${session.conversationId ? `, conversation ${session.conversationId}` : ''}`);
  for (const m of chat.messages()) print(m);
  chat.markRead();
} catch (err) {
  console.error(`could not connect: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

console.log('type a message (/file <path>, /earlier, /new, /quit)');
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const text = line.trim();
  if (!text) continue;
  if (text === '/quit') break;
  if (text === '/earlier') {
    const page = await chat.loadEarlier().catch((e: Error) => (console.error(e.message), null));
    if (page) {
      for (const m of page.messages) print(m);
      console.log(page.hasMore ? '(more with /earlier)' : '(start of the conversation)');
    }
    continue;
  }
  if (text === '/new') {
    console.log(`(new conversation ${await chat.startConversation()})`);
    continue;
  }
  const handle = text.startsWith('/file ')
    ? await readFile(text.slice(6).trim()).then(
        (data) => chat.send({ file: { data, name: basename(text.slice(6).trim()) } }),
        (e: Error) => (console.error(e.message), null),
      )
    : chat.send(text);
  // Not awaited: while offline, lines queue up in the outbox and go out in order once reconnected.
  void handle?.result.then((result) => {
    if (result.ok) print(result.message);
    else console.error(`(not sent: ${result.error.message})`);
  });
}
chat.destroy();
process.exit(0);
