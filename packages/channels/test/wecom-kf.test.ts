import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelContext, ChannelEvent, DeliveryStatusEvent, InboundHttpRequest, InboundMessageEvent, NormalizedInbound, OutboundAttachment, OutboundMessage, PollSink } from '../src/adapter.ts';
import { ChannelError } from '../src/adapter.ts';
import { adapterFor } from '../src/registry.ts';
import { parseEncodingAesKey, wechatSignature } from '../src/wechat/crypto.ts';
import { buildWechatXml } from '../src/wechat/xml.ts';
import { wecomKfAdapter, type WecomKfConfig } from '../src/wecom-kf/index.ts';
import { partMsgId } from '../src/wecom-kf/send.ts';
import { describeChannelContract, httpFailingOnce, testHttp } from './contract.ts';
import { encryptedCallback, startWecomFake, type WecomFake } from './fakes/wecom-fake.ts';
import { memoryTokens } from './memory-tokens.ts';

const CORP_ID = 'ww1a2b3c4d5e6f7a8b';
const SECRET = 'kf-app-secret-4e1f0c9a7b3d5e2f8a6c1b0d9e7f3a5c';
const CALLBACK_TOKEN = 'HuiliuKfToken2026';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const KF = 'wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q';
const KF2 = 'wkAJ2GCAAAsecondAccount0000000002';
const CUSTOMER = 'wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw';
const RECIPIENT = `${KF}:${CUSTOMER}`;
const secrets = { secret: SECRET, token: CALLBACK_TOKEN, encodingAesKey: AES_KEY };
const fakeOptions = { corpId: CORP_ID, secret: SECRET, accounts: { [KF]: '咨询客服', [KF2]: '售后客服' }, servicers: ['zhangsan', 'lisi'], callbackToken: CALLBACK_TOKEN, encodingAesKey: AES_KEY };

const fixtureText = (name: string) => readFileSync(new URL(`./fixtures/wecom_kf/${name}`, import.meta.url), 'utf8');
let seq = 0;
/** A documented msg_list item with its own msgid (and this test's kf account / customer). */
function item(name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const doc = JSON.parse(fixtureText(`${name}.json`)) as Record<string, unknown>;
  doc.msgid = `msg_${++seq}_${name}`;
  if (doc.origin !== 4) {
    doc.open_kfid = KF;
    doc.external_userid = CUSTOMER;
  } else {
    const ev = doc.event as Record<string, unknown>;
    if (ev.open_kfid) ev.open_kfid = KF;
    if (ev.external_userid) ev.external_userid = CUSTOMER;
  }
  return { ...doc, ...over };
}
const customerText = (text: string, over: Record<string, unknown> = {}) => {
  const t = item('text', over);
  t.text = { content: text };
  return t;
};

describeChannelContract<WecomKfConfig>({
  adapter: wecomKfAdapter,
  startFake: async () => {
    const fake = await startWecomFake(fakeOptions);
    // send_msg needs a customer message within 48 hours: the customer wrote first.
    fake.pushItems(KF, [customerText('你好')]);
    return fake;
  },
  context: (fake) => ({ config: { corpId: CORP_ID, apiBaseUrl: fake.baseUrl } as WecomKfConfig, secrets: { ...secrets } }),
  invalidConfig: { corpId: CORP_ID, agentId: 1000002 },
  // No `webhook`: a kf callback carries no messages (it yields pulls); receive and pull are tested below.
  recipient: RECIPIENT,
});

describe('wecom_kf adapter', () => {
  let fake: WecomFake;
  const tokens = memoryTokens();
  const logs: Array<{ level: string; obj: object; msg: string }> = [];
  const logger = {
    info: (obj: object, msg: string) => { logs.push({ level: 'info', obj, msg }); },
    warn: (obj: object, msg: string) => { logs.push({ level: 'warn', obj, msg }); },
    error: (obj: object, msg: string) => { logs.push({ level: 'error', obj, msg }); },
  };
  const ctx = (config: Partial<Record<keyof WecomKfConfig, unknown>> = {}, s: Record<string, string> = secrets): ChannelContext<WecomKfConfig> => ({
    config: wecomKfAdapter.configSchema.parse({ corpId: CORP_ID, apiBaseUrl: fake.baseUrl, ...config }),
    secrets: s,
    http: testHttp,
    webhookUrl: 'https://huiliu.example.com/api/channels/v1/kf-inbox/webhook',
    now: () => fake.now(),
    logger,
    tokens,
  });
  const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a ChannelError'); }, (e: unknown) => {
    expect(e).toBeInstanceOf(ChannelError);
    return e as ChannelError;
  });
  const receive = (req: InboundHttpRequest, c = ctx()) => wecomKfAdapter.receive!(req, c);

  function memorySink(o: { failDeliveryAt?: number } = {}) {
    let state: Record<string, unknown> | null = null;
    const pages: NormalizedInbound[][] = [];
    const steps: string[] = [];
    const sink: PollSink & { pages: NormalizedInbound[][]; steps: string[]; stateNow(): Record<string, unknown> | null } = {
      state: {
        get: async () => (state ? structuredClone(state) : null),
        set: async (s) => { steps.push('save'); state = structuredClone(s); },
      },
      deliver: async (events) => {
        if (o.failDeliveryAt !== undefined && pages.length === o.failDeliveryAt) throw new Error('database unavailable');
        steps.push('deliver');
        pages.push(events);
      },
      pages,
      steps,
      stateNow: () => state,
    };
    return sink;
  }
  const pullAll = async (sink = memorySink(), c = ctx(), openKfId = KF) => {
    const cb = fake.callback({ openKfId });
    const r = await receive(cb, c);
    await wecomKfAdapter.pull!(r.pulls![0]!, c, sink);
    return sink;
  };
  const events = (sink: ReturnType<typeof memorySink>) => sink.pages.flat();

  beforeAll(async () => { fake = await startWecomFake({ ...fakeOptions, pageSize: 2 }); });
  afterAll(async () => { await fake.close(); });
  beforeEach(() => { logs.length = 0; });

  it('is registered under its kind with the 48 h / 5-message window and no templates', () => {
    expect(adapterFor('wecom_kf')).toBe(wecomKfAdapter);
    expect(wecomKfAdapter.capabilities(ctx().config)).toMatchObject({ sendWindow: { hours: 48, maxMessages: 5, outside: 'blocked' }, templates: false, deliveryReports: true, maxTextLength: 682 });
    expect(wecomKfAdapter.secrets.map((s) => s.name)).toEqual(['secret', 'token', 'encodingAesKey']);
  });

  it('refuses settings it does not know and values that are not WeCom ids, naming the field', () => {
    expect(wecomKfAdapter.configSchema.safeParse({ corpId: CORP_ID }).success).toBe(true);
    const unknown = wecomKfAdapter.configSchema.safeParse({ corpId: CORP_ID, agentId: 1 });
    expect(unknown.success).toBe(false);
    const badCorp = wecomKfAdapter.configSchema.safeParse({ corpId: 'not a corp id!' });
    expect(badCorp.success).toBe(false);
    expect(JSON.stringify(badCorp.error?.issues)).toContain('corpId');
    const badMap = wecomKfAdapter.configSchema.safeParse({ corpId: CORP_ID, servicerUserIds: { 'not-an-email': 'zhangsan' } });
    expect(badMap.success).toBe(false);
  });

  describe('callback URL verification (GET)', () => {
    it('answers the decrypted echostr as text/plain', async () => {
      const r = await receive(fake.verification('1234567890123456789'));
      expect(r).toEqual({ response: { status: 200, contentType: 'text/plain', body: '1234567890123456789' }, events: [] });
    });

    it('refuses a wrong signature, an echostr encrypted for another CorpID, a stale timestamp and missing parameters', async () => {
      const good = fake.verification('42');
      expect((await failure(receive({ ...good, query: { ...good.query, msg_signature: 'f'.repeat(40) } }))).code).toBe('signature_invalid');
      const otherCorp = await failure(receive(fake.verification('42', { receiveId: 'wwffffffffffffffff' })));
      expect(otherCorp.code).toBe('signature_invalid');
      expect(otherCorp.message).toContain('another account');
      const stale = await failure(receive(fake.verification('42', { timestamp: Math.floor(fake.now().getTime() / 1000) - 3600 })));
      expect(stale.code).toBe('replayed');
      const { echostr: _omit, ...noEcho } = good.query;
      expect((await failure(receive({ ...good, query: noEcho }))).code).toBe('malformed');
    });

    it('says which secrets are missing instead of failing later', async () => {
      const e = await failure(receive(fake.verification('42'), ctx({}, { secret: SECRET })));
      expect(e.code).toBe('not_configured');
      expect(e.message).toContain('encodingAesKey');
    });
  });

  describe('encrypted callbacks (POST)', () => {
    it('a kf_msg_or_event callback yields a pull with its Token and kf account, answered "success"', async () => {
      const cb = fake.callback({ openKfId: KF });
      const r = await receive(cb);
      expect(r).toEqual({ response: { status: 200, contentType: 'text/plain', body: 'success' }, events: [], pulls: [{ openKfId: KF, token: cb.callbackToken }] });
    });

    it('decrypts the documented callback XML byte for byte', async () => {
      const xml = fixtureText('callback-kf_msg_or_event.xml').replace('ww12345678910', CORP_ID).replace('wkxxxxxxx', KF);
      const ts = Math.floor(fake.now().getTime() / 1000);
      const r = await receive(encryptedCallback({ token: CALLBACK_TOKEN, encodingAesKey: AES_KEY, receiveId: CORP_ID, toUserName: CORP_ID, xml, timestamp: ts, nonce: '1372623149', agentId: '' }));
      expect(r.pulls).toEqual([{ openKfId: KF, token: 'ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR' }]);
    });

    it('refuses a tampered ciphertext, a foreign CorpID, a stale timestamp and a wrong Token', async () => {
      const cb = fake.callback({ openKfId: KF });
      // Tampered: one character of <Encrypt> changed — the signature no longer covers it.
      const tampered = { ...cb, rawBody: Buffer.from(cb.rawBody.toString().replace(/<Encrypt><!\[CDATA\[(.)/, (_m, c: string) => `<Encrypt><![CDATA[${c === 'A' ? 'B' : 'A'}`)) };
      expect((await failure(receive(tampered))).code).toBe('signature_invalid');
      // Encrypted for another organization but correctly signed: the receive id inside is checked.
      const foreign = await failure(receive(fake.callback({ openKfId: KF, receiveId: 'wwffffffffffffffff' })));
      expect(foreign.code).toBe('signature_invalid');
      const foreignTo = await failure(receive(fake.callback({ openKfId: KF, toUserName: 'wwffffffffffffffff', receiveId: CORP_ID })));
      expect(foreignTo.message).toContain('another organization');
      const stale = await failure(receive(fake.callback({ openKfId: KF, timestamp: Math.floor(fake.now().getTime() / 1000) - 301 })));
      expect(stale.code).toBe('replayed');
      const wrongToken = await failure(receive(cb, ctx({}, { ...secrets, token: 'SomeoneElsesToken' })));
      expect(wrongToken.code).toBe('signature_invalid');
      // A wider window is a setting.
      expect((await receive(fake.callback({ openKfId: KF, timestamp: Math.floor(fake.now().getTime() / 1000) - 301 }), ctx({ timestampToleranceSeconds: 900 }))).pulls).toHaveLength(1);
    });

    it('refuses bad padding (correctly signed), external entities and oversized bodies as malformed', async () => {
      const key = parseEncodingAesKey(AES_KEY);
      // 32 bytes whose last byte is not valid PKCS#7 padding, encrypted without padding.
      const { createCipheriv } = await import('node:crypto');
      const c = createCipheriv('aes-256-cbc', key.key, key.iv);
      c.setAutoPadding(false);
      const badPadding = Buffer.concat([c.update(Buffer.alloc(32, 0x41)), c.final()]).toString('base64');
      const ts = String(Math.floor(fake.now().getTime() / 1000));
      const signed = (encrypt: string, body = buildWechatXml({ ToUserName: CORP_ID, Encrypt: encrypt, AgentID: '' })): InboundHttpRequest => ({
        method: 'POST', url: '/', headers: {}, rawBody: Buffer.from(body),
        query: { msg_signature: wechatSignature(CALLBACK_TOKEN, ts, 'n1', encrypt), timestamp: ts, nonce: 'n1' },
      });
      expect((await failure(receive(signed(badPadding)))).code).toBe('malformed');
      const xxe = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><ToUserName>&x;</ToUserName><Encrypt>abc</Encrypt></xml>`;
      expect((await failure(receive(signed('abc', xxe)))).code).toBe('malformed');
      expect((await failure(receive(signed('abc', `<xml><Encrypt>${'A'.repeat(70_000)}</Encrypt></xml>`)))).code).toBe('malformed');
      expect((await failure(receive(signed('x', '{"not":"xml"}')))).code).toBe('malformed');
    });

    it('acknowledges other events and kf accounts outside openKfIds without a pull', async () => {
      const other = await receive(fake.callback({ openKfId: KF, event: 'kf_account_auth_change' }));
      expect(other).toEqual({ response: { status: 200, contentType: 'text/plain', body: 'success' }, events: [] });
      const outside = await receive(fake.callback({ openKfId: KF2 }), ctx({ openKfIds: [KF] }));
      expect(outside.pulls).toBeUndefined();
      expect(logs.map((l) => l.msg)).toContain('wecom callback ignored: the kf account is not in this inbox\'s openKfIds');
    });
  });

  describe('pull (sync_msg)', () => {
    it('pages until has_more is 0, saving the cursor only after each page is delivered', async () => {
      fake.addCustomer({ externalUserId: CUSTOMER, nickname: '张三', unionid: 'oxasdaosaosdasdasdasd' });
      const texts = ['第一条', '第二条', '第三条', '第四条', '第五条'];
      fake.pushItems(KF, texts.map((t) => customerText(t)));
      const sink = await pullAll();
      // pageSize 2 → 3 pages: 2 + 2 + 1.
      expect(sink.pages.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(sink.steps).toEqual(['deliver', 'save', 'deliver', 'save', 'deliver', 'save']);
      const msgs = events(sink) as InboundMessageEvent[];
      expect(msgs.map((m) => m.content)).toEqual(texts.map((text) => ({ type: 'text', text })));
      expect(msgs[0]!.sender).toEqual({ sourceId: RECIPIENT, name: '张三', verifiedKeys: [{ kind: 'unionid', value: 'oxasdaosaosdasdasdasd' }] });
      expect(msgs[0]!.sentAt).toEqual(new Date(1615478585 * 1000));
      const calls = fake.syncCalls.slice(-3);
      expect(calls.map((c) => c.cursor === null)).toEqual([true, false, false]);
      expect(calls.every((c) => c.token)).toBe(true);
      const state = sink.stateNow() as { cursors: Record<string, string> };
      expect(Object.keys(state.cursors)).toEqual([KF]);

      // The same callback again: sync_msg from the saved cursor returns nothing new.
      const before = events(sink).length;
      await wecomKfAdapter.pull!({ openKfId: KF, token: fake.issueCallbackToken(KF) }, ctx(), sink);
      expect(events(sink).length).toBe(before);
      expect(fake.syncCalls.at(-1)!.cursor).toBe(state.cursors[KF]);
      expect(fake.accepted.find((a) => a.path === '/cgi-bin/kf/sync_msg')!.body).toMatchObject({ limit: 1000, voice_format: 0, open_kfid: KF });
      expect(fake.rejected).toEqual([]);
    });

    it('resumes from the last saved cursor after a delivery failure; nothing is skipped', async () => {
      fake.pushItems(KF, ['a', 'b', 'c', 'd'].map((t) => customerText(t)));
      // One cursor for KF already exists from the test above: a fresh sink stands for a fresh inbox.
      const sink = memorySink({ failDeliveryAt: 1 });
      const err = await pullAll(sink).catch((e: unknown) => e);
      expect(String(err)).toContain('database unavailable');
      expect(sink.steps).toEqual(['deliver', 'save']);
      const afterFirst = structuredClone(sink.stateNow());
      // Retried (core retries the pull job), now storing works.
      const retry = memorySink();
      await retry.state.set(afterFirst!);
      await wecomKfAdapter.pull!({ openKfId: KF, token: null }, ctx(), retry);
      const seen = [...sink.pages.flat(), ...retry.pages.flat()] as InboundMessageEvent[];
      const texts = seen.map((m) => (m.content.type === 'text' ? m.content.text : ''));
      expect(texts.slice(-4)).toEqual(['a', 'b', 'c', 'd']);
    });

    it('continues without the callback Token once it expired (95007), at the token-less rate', async () => {
      const sink = memorySink();
      const cb = fake.callback({ openKfId: KF2 });
      const pull = (await receive(cb)).pulls![0]!;
      fake.advance(11 * 60_000);
      fake.pushItems(KF2, [customerText('过了十分钟', { open_kfid: KF2 })]);
      await wecomKfAdapter.pull!(pull, ctx(), sink);
      expect(fake.syncCalls.slice(-2).map((c) => c.token)).toEqual([true, false]);
      expect((events(sink)[0] as InboundMessageEvent).sender.sourceId).toBe(`${KF2}:${CUSTOMER}`);
      expect(logs.some((l) => l.msg.includes('95007'))).toBe(true);
      fake.advance(-11 * 60_000);
    });

    it('does not stop at an empty page while has_more is 1', async () => {
      fake.insertEmptyPage();
      fake.pushItems(KF2, [customerText('after an empty page', { open_kfid: KF2 })]);
      const sink = memorySink();
      await sink.state.set({ cursors: { [KF2]: '' } });
      await wecomKfAdapter.pull!({ openKfId: KF2, token: null }, ctx(), sink);
      const texts = (events(sink) as InboundMessageEvent[]).map((m) => (m.content.type === 'text' ? m.content.text : ''));
      expect(texts).toContain('after an empty page');
    });

    it('skips kf accounts outside openKfIds and refuses a pull without openKfId', async () => {
      const before = fake.syncCalls.length;
      await wecomKfAdapter.pull!({ openKfId: KF2, token: null }, ctx({ openKfIds: [KF] }), memorySink());
      expect(fake.syncCalls.length).toBe(before);
      expect((await failure(wecomKfAdapter.pull!({ token: 'x' }, ctx(), memorySink()))).code).toBe('malformed');
    });

    it('works without customer lookups when fetchCustomerProfiles is off', async () => {
      const lookups = fake.accepted.filter((a) => a.path === '/cgi-bin/kf/customer/batchget').length;
      fake.pushItems(KF, [customerText('no lookup')]);
      const sink = memorySink();
      await sink.state.set({ cursors: {} });
      await wecomKfAdapter.pull!({ openKfId: KF, token: null }, ctx({ fetchCustomerProfiles: false }), sink);
      expect(fake.accepted.filter((a) => a.path === '/cgi-bin/kf/customer/batchget').length).toBe(lookups);
      expect((events(sink).at(-1) as InboundMessageEvent).sender).toEqual({ sourceId: RECIPIENT });
    });
  });

  describe('message types (fixtures from the documentation)', () => {
    /** Normalizes one documented item through a real pull. */
    async function normalize(...items: Array<Record<string, unknown>>): Promise<NormalizedInbound[]> {
      const kf = `wkType${++seq}`.padEnd(20, '0');
      const local = await startWecomFake({ ...fakeOptions, accounts: { [kf]: 'types' } });
      try {
        local.pushItems(kf, items.map((i) => ({ ...i, ...(i.origin !== 4 ? { open_kfid: kf } : { event: { ...(i.event as object), ...((i.event as Record<string, unknown>).open_kfid ? { open_kfid: kf } : {}) } }) })));
        const c = { ...ctx({ fetchCustomerProfiles: false }), config: wecomKfAdapter.configSchema.parse({ corpId: CORP_ID, apiBaseUrl: local.baseUrl, fetchCustomerProfiles: false }), tokens: memoryTokens() };
        const sink = memorySink();
        await wecomKfAdapter.pull!({ openKfId: kf, token: null }, c, sink);
        expect(local.rejected).toEqual([]);
        return events(sink).map((e) => (e.kind === 'message' || e.kind === 'event' ? { ...e, sender: { ...e.sender, sourceId: e.sender.sourceId.replace(kf, KF) } } : e));
      } finally {
        await local.close();
      }
    }
    const contentOf = async (name: string) => ((await normalize(item(name)))[0] as InboundMessageEvent).content;

    it('text (with the menu reply id), image, voice, video and file', async () => {
      expect(await contentOf('text')).toEqual({ type: 'text', text: 'hello world' });
      const mediaId = '2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw';
      expect(await contentOf('image')).toEqual({ type: 'image', media: [{ ref: mediaId, fileName: 'wecom-image-2iSLeVyqzk4eX0IB.jpg' }] });
      expect(await contentOf('voice')).toEqual({ type: 'audio', media: [{ ref: mediaId, contentType: 'audio/amr', fileName: 'wecom-voice-2iSLeVyqzk4eX0IB.amr' }] });
      expect(await contentOf('video')).toEqual({ type: 'video', media: [{ ref: mediaId, contentType: 'video/mp4', fileName: 'wecom-video-2iSLeVyqzk4eX0IB.mp4' }] });
      expect(await contentOf('file')).toEqual({ type: 'file', media: [{ ref: mediaId }] });
    });

    it('location, link, business card, mini-program, WeChat Channels product / order / post', async () => {
      expect(await contentOf('location')).toEqual({ type: 'location', location: { latitude: 23.106021881103501, longitude: 113.320503234863, name: '广州国际媒体港(广州市海珠区)', address: '广东省广州市海珠区滨江东路' } });
      expect(await contentOf('link')).toEqual({ type: 'card', card: { title: 'TITLE', description: 'DESC', url: 'URL', imageUrl: 'PIC_URL' } });
      expect(await contentOf('business_card')).toEqual({ type: 'card', text: '[WeCom business card: USERID]', card: { title: 'WeCom business card', description: 'WeCom member USERID' } });
      expect(await contentOf('miniprogram')).toEqual({ type: 'card', card: { title: 'TITLE', description: 'WeChat mini-program APPID · PAGE_PATH' } });
      expect(await contentOf('channels_shop_product')).toEqual({ type: 'card', card: { title: 'TITLE', description: 'WeChat Channels product · price SALES_PRICE · SHOP_NICKNAME', imageUrl: 'PRODUCT_IMAGE_URL' } });
      expect(await contentOf('channels_shop_order')).toEqual({ type: 'card', card: { title: 'WeChat Channels order ORDER_ID', description: 'PRODUCT_TITLES · PRICE_WORDING · STATE · SHOP_NICKNAME', imageUrl: 'IMAGE_URL' } });
      expect(await contentOf('channels')).toEqual({ type: 'card', card: { title: 'TITLE', description: 'WeChat Channels post · NICKNAME' } });
    });

    it('a menu a WeCom member sent from the WeCom app (origin 5) is an echo with the menu as text', async () => {
      const [m] = (await normalize(item('msgmenu'))) as InboundMessageEvent[];
      expect(m!.echo).toBe(true);
      expect(m!.sender.sourceId).toBe(RECIPIENT);
      expect(m!.content).toEqual({ type: 'text', text: '您对本次服务是否满意呢? \n- 满意\n- 不满意\n- 点击跳转到自助查询页面 (https://work.weixin.qq.com)\n- 点击打开小程序查询更多\n欢迎再次光临' });
    });

    it('a type the adapter does not know is kept as unsupported content with the raw item', async () => {
      const raw = item('merged_msg');
      const content = await contentOf('merged_msg');
      expect(content).toMatchObject({ type: 'unsupported', text: '[WeCom merged_msg]' });
      expect(content.type === 'unsupported' && (content.raw as Record<string, unknown>).merged_msg).toEqual(raw.merged_msg);
    });

    it('session events: entering, WeCom-side changes (ending one ends the conversation), recalls; staff status is not a customer event', async () => {
      const ended = item('event-session_status_change');
      (ended.event as Record<string, unknown>).change_type = 3;
      const out = await normalize(item('event-enter_session'), item('event-session_status_change'), ended, item('event-user_recall_msg'), item('event-servicer_recall_msg'), item('event-reject_customer_msg_switch_change'), item('event-servicer_status_change'));
      const evs = out as ChannelEvent[];
      expect(evs.map((e) => [e.kind, e.event, e.endsConversation ?? false])).toEqual([
        ['event', 'enter_session (scene 123)', false],
        ['event', 'session_taken_in_wecom', false],
        ['event', 'session_ended_in_wecom', true],
        ['event', 'recalled a message', false],
        ['event', 'a WeCom member recalled a message', false],
        ['event', 'a WeCom member stopped receiving this customer\'s messages', false],
      ]);
      expect(evs[0]!.sender.sourceId).toBe(RECIPIENT);
      expect(evs[0]!.at).toEqual(new Date(1615478585 * 1000));
      expect(logs.map((l) => l.msg)).toContain('wecom event without a customer logged only');
    });

    it('a failed send (msg_send_fail) becomes the failed delivery status of our message', async () => {
      const [s] = (await normalize(item('event-msg_send_fail'))) as DeliveryStatusEvent[];
      expect(s).toEqual({ kind: 'status', externalId: 'FAIL_MSGID', status: 'failed', error: 'WeCom could not deliver the message (fail_type 4: the session expired (more than 48 hours since the customer\'s last message))', at: new Date(1615478585 * 1000) });
    });
  });

  describe('media', () => {
    it('downloads with media/get and keeps the name WeCom gives the file', async () => {
      const pdf = Buffer.from('%PDF-1.7 售后单');
      const id = fake.addMedia(pdf, 'application/pdf', '售后单.pdf');
      expect(await wecomKfAdapter.fetchMedia!({ ref: id }, ctx())).toEqual({ bytes: pdf, contentType: 'application/pdf', fileName: '售后单.pdf' });
      expect(fake.mediaDownloads).toContain(id);
    });

    it('an expired media_id is a final error; access_token stays out of the message', async () => {
      const e = await failure(wecomKfAdapter.fetchMedia!({ ref: 'expired-media-id' }, ctx()));
      expect([e.code, e.retryable]).toEqual(['provider_error', false]);
      expect(e.message).toContain('40007');
      expect(e.message).not.toMatch(/access_token=(?!<redacted>)/);
    });
  });

  describe('send (send_msg)', () => {
    const CUST2 = 'wmSendTestCustomer00000000000002';
    const outbound = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
      idempotencyKey: crypto.randomUUID(), conversationId: '5d0c2c4e-7b1a-4f3e-9c2d-8e7f6a5b4c3d', createdAt: new Date(), recipient: { sourceId: `${KF}:${CUST2}` }, text: '您好，已为您查询', attachments: [], ...over,
    });
    const attachment = (fileName: string, contentType: string, bytes: Buffer): OutboundAttachment => ({ fileName, contentType, size: bytes.length, read: async () => bytes, url: `https://huiliu.example.com/files/${fileName}` });
    const customerWrites = () => fake.pushItems(KF, [customerText('在吗', { external_userid: CUST2 })]);

    beforeEach(() => {
      fake.setSessionState(KF, CUST2, 4);
      customerWrites();
    });

    it('sends text in the documented shape, from the kf account the customer wrote to, with our key as msgid', async () => {
      const msg = outbound();
      const r = await wecomKfAdapter.send(msg, ctx());
      const last = fake.sent.at(-1)!;
      const documented = JSON.parse(fixtureText('send-text-request.json')) as Record<string, unknown>;
      expect(Object.keys(last.body).sort()).toEqual(Object.keys(documented).sort());
      expect(last.body).toEqual({ touser: CUST2, open_kfid: KF, msgid: msg.idempotencyKey.replaceAll('-', ''), msgtype: 'text', text: { content: '您好，已为您查询' } });
      expect(r.externalId).toBe(msg.idempotencyKey.replaceAll('-', ''));
      expect(fake.rejected).toEqual([]);
    });

    it('uploads attachments and sends each by media_id after the text', async () => {
      const png = Buffer.from('\x89PNG\r\n\x1a\n product photo', 'latin1');
      const pdf = Buffer.from('%PDF-1.7 invoice');
      const msg = outbound({ text: '发票和照片', attachments: [attachment('photo.png', 'image/png', png), attachment('发票.pdf', 'application/pdf', pdf)] });
      const before = fake.sent.length;
      const r = await wecomKfAdapter.send(msg, ctx());
      const parts = fake.sent.slice(before);
      expect(parts.map((p) => p.msgtype)).toEqual(['text', 'image', 'file']);
      expect(parts.map((p) => p.msgid)).toEqual([0, 1, 2].map((i) => partMsgId(msg.idempotencyKey, i)));
      expect(new Set(parts.map((p) => p.msgid)).size).toBe(3);
      const imageId = (parts[1]!.body.image as { media_id: string }).media_id;
      expect(fake.uploads.get(imageId)).toMatchObject({ bytes: png, type: 'image', fileName: 'photo.png' });
      expect(fake.uploads.get((parts[2]!.body.file as { media_id: string }).media_id)).toMatchObject({ bytes: pdf, type: 'file', fileName: '发票.pdf' });
      expect(r.externalId).toBe(parts[0]!.msgid);
      expect(fake.rejected).toEqual([]);
    });

    it('uploads every file before the first send_msg, so a failed upload retried by core sends each part once', async () => {
      const flaky = httpFailingOnce('/cgi-bin/media/upload');
      const png = Buffer.from('\x89PNG\r\n\x1a\n product photo', 'latin1');
      const msg = outbound({ text: '照片', attachments: [attachment('photo.png', 'image/png', png)] });
      const before = fake.sent.length;
      const first = await failure(wecomKfAdapter.send(msg, { ...ctx(), http: flaky }));
      expect([first.code, first.retryable]).toEqual(['network', true]);
      expect(fake.sent.length).toBe(before);
      // The retry's text reuses part 0's msgid: it was never used, so WeCom takes it.
      await wecomKfAdapter.send(msg, { ...ctx(), http: flaky });
      expect(fake.sent.slice(before).map((p) => p.msgtype)).toEqual(['text', 'image']);
      expect(fake.rejected).toEqual([]);
    });

    it('WeCom\'s 5-message rule (95001), 48-hour rule (95002) and session-state rule (95018) are final window errors', async () => {
      for (let i = 0; i < 5; i++) await wecomKfAdapter.send(outbound({ text: `第${i + 1}条` }), ctx());
      const sixth = await failure(wecomKfAdapter.send(outbound({ text: '第6条' }), ctx()));
      expect([sixth.code, sixth.retryable]).toEqual(['window_closed', false]);
      expect(sixth.message).toContain('95001');
      expect(sixth.message).toContain('5 messages per customer message');
      // The customer writes again: five more are allowed.
      customerWrites();
      await wecomKfAdapter.send(outbound(), ctx());

      fake.advance(48 * 3600_000);
      const late = await failure(wecomKfAdapter.send(outbound(), ctx()));
      expect([late.code, late.retryable, late.message.includes('48 hours')]).toEqual(['window_closed', false, true]);
      fake.advance(-48 * 3600_000);

      fake.setSessionState(KF, CUST2, 3, 'zhangsan');
      const served = await failure(wecomKfAdapter.send(outbound(), ctx()));
      expect([served.code, served.retryable]).toEqual(['window_closed', false]);
      expect(served.message).toContain('95018');
      expect(served.message).toContain('WeCom app');
      expect(fake.rejected).toEqual([]);
    });

    it('a send retried with the same key never reaches the customer twice', async () => {
      const msg = outbound();
      await wecomKfAdapter.send(msg, ctx());
      const count = fake.sent.length;
      const again = await failure(wecomKfAdapter.send(msg, ctx()));
      expect(again.retryable).toBe(false);
      expect(fake.sent.length).toBe(count);
    });

    it('fetches a new access token when WeCom says the cached one expired (42001) or is invalid (40014), once', async () => {
      const issued = fake.tokensIssued;
      fake.expireAccessTokens();
      await wecomKfAdapter.send(outbound(), ctx());
      expect(fake.tokensIssued).toBe(issued + 1);
      fake.revokeAccessTokens();
      await wecomKfAdapter.send(outbound(), ctx());
      expect(fake.tokensIssued).toBe(issued + 2);
      expect(logs.filter((l) => l.msg.includes('fetching a fresh one')).length).toBe(2);
    });

    it('refuses what WeCom would refuse before calling it: long text, templates, odd recipients, big or tiny files', async () => {
      const before = fake.accepted.length;
      const long = await failure(wecomKfAdapter.send(outbound({ text: '长'.repeat(683) }), ctx()));
      expect([long.code, long.message.includes('this one has 2049')]).toEqual(['content_unsupported', true]);
      // 2048 bytes of Latin text still go out.
      expect((await failure(wecomKfAdapter.send(outbound({ template: { name: 'x', language: 'zh_CN', variables: [] } }), ctx()))).code).toBe('content_unsupported');
      expect((await failure(wecomKfAdapter.send(outbound({ recipient: { sourceId: CUST2 } }), ctx()))).code).toBe('recipient_invalid');
      const big = attachment('big.mp4', 'video/mp4', Buffer.alloc(10));
      expect((await failure(wecomKfAdapter.send(outbound({ attachments: [{ ...big, size: 11 * 1024 * 1024 }] }), ctx()))).code).toBe('media_too_large');
      expect((await failure(wecomKfAdapter.send(outbound({ text: '', attachments: [attachment('t.txt', 'text/plain', Buffer.from('hi'))] }), ctx()))).code).toBe('content_unsupported');
      expect(fake.accepted.length).toBe(before);
      await wecomKfAdapter.send(outbound({ text: 'a'.repeat(2048) }), ctx());
      expect(fake.rejected).toEqual([]);
    });
  });

  describe('session state (service_state)', () => {
    const CUST3 = 'wmSessionCustomer000000000000003';
    const change = (state: 'human' | 'ended', email = 'agent.li@example.com') => ({ conversationId: 'c0ffee00-0000-4000-8000-000000000001', recipient: { sourceId: `${KF}:${CUST3}` }, state, agent: state === 'human' ? { email, name: 'Agent Li' } : null });
    const transitionsOf = () => fake.transitions.filter((t) => t.externalUserId === CUST3).map((t) => [t.from, t.to, t.servicer]);
    beforeEach(() => {
      fake.transitions.length = 0;
      fake.setSessionState(KF, CUST3, 4);
      fake.pushItems(KF, [customerText('人工', { external_userid: CUST3 })]);
    });

    it('assistant mode (default): an agent taking the conversation keeps it on the API side (0 → 1); resolving ends it (→ 4)', async () => {
      await wecomKfAdapter.syncSession!(change('human'), ctx());
      expect(transitionsOf()).toEqual([[0, 1, null]]);
      // Again (another agent): already 1, nothing to change.
      await wecomKfAdapter.syncSession!(change('human'), ctx());
      expect(transitionsOf()).toEqual([[0, 1, null]]);
      // Replies keep working in state 1.
      await wecomKfAdapter.send({ idempotencyKey: crypto.randomUUID(), conversationId: 'c', createdAt: new Date(), recipient: { sourceId: `${KF}:${CUST3}` }, text: '我来处理', attachments: [] }, ctx());
      await wecomKfAdapter.syncSession!(change('ended'), ctx());
      expect(transitionsOf()).toEqual([[0, 1, null], [1, 4, null]]);
      // Ending an ended session is a no-op.
      await wecomKfAdapter.syncSession!(change('ended'), ctx());
      expect(transitionsOf()).toHaveLength(2);
      expect(fake.rejected).toEqual([]);
    });

    it('assistant mode leaves a session WeCom gave to one of its members alone, and says why', async () => {
      fake.setSessionState(KF, CUST3, 3, 'lisi');
      await wecomKfAdapter.syncSession!(change('human'), ctx());
      expect(transitionsOf()).toEqual([]);
      expect(logs.find((l) => l.level === 'warn')!.msg).toContain('served by a WeCom member');
    });

    it('servicer mode hands the session to the agent\'s WeCom account (state 3), or to the default servicer', async () => {
      const c = ctx({ sessionMode: 'servicer', servicerUserIds: { 'Agent.Li@example.com': 'zhangsan' }, defaultServicerUserId: 'lisi' });
      await wecomKfAdapter.syncSession!(change('human', 'agent.li@example.com'), c);
      await wecomKfAdapter.syncSession!(change('human', 'agent.li@example.com'), c);
      await wecomKfAdapter.syncSession!(change('human', 'someone.else@example.com'), c);
      expect(transitionsOf()).toEqual([[0, 3, 'zhangsan'], [3, 3, 'lisi']]);
      // In state 3 WeCom refuses API replies: the agent answers in the WeCom app.
      const e = await failure(wecomKfAdapter.send({ idempotencyKey: crypto.randomUUID(), conversationId: 'c', createdAt: new Date(), recipient: { sourceId: `${KF}:${CUST3}` }, text: 'x', attachments: [] }, c));
      expect(e.code).toBe('window_closed');
      await wecomKfAdapter.syncSession!(change('ended'), c);
      expect(transitionsOf().at(-1)).toEqual([3, 4, null]);
    });

    it('servicer mode skips agents without a WeCom userid (warned), and names a userid WeCom does not accept', async () => {
      await wecomKfAdapter.syncSession!(change('human'), ctx({ sessionMode: 'servicer' }));
      expect(transitionsOf()).toEqual([]);
      expect(logs.find((l) => l.level === 'warn')!.msg).toContain('no WeCom userid');
      const e = await failure(wecomKfAdapter.syncSession!(change('human'), ctx({ sessionMode: 'servicer', defaultServicerUserId: 'wangwu' })));
      expect([e.code, e.message.includes('95014')]).toEqual(['not_configured', true]);
    });

    it('an ended session is not changed by a hand-over (WeCom allows no API change from 4)', async () => {
      fake.setSessionState(KF, CUST3, 4);
      await wecomKfAdapter.syncSession!(change('human'), ctx());
      await wecomKfAdapter.syncSession!(change('ended'), ctx());
      expect(transitionsOf()).toEqual([]);
    });
  });

  describe('test connection', () => {
    it('passes with the right credentials and a managed kf account', async () => {
      expect(await wecomKfAdapter.check!(ctx())).toEqual({ ok: true });
      expect(await wecomKfAdapter.check!(ctx({ openKfIds: [KF] }))).toEqual({ ok: true });
    });

    it('names what is wrong: Secret (40001), CorpID (40013), untrusted IP (60020), unmanaged account, callback secrets', async () => {
      // Core drops an inbox's cached tokens when its settings change: each check starts without one.
      const fresh = (c: ChannelContext<WecomKfConfig>) => ({ ...c, tokens: memoryTokens() });
      const secret = await wecomKfAdapter.check!(fresh(ctx({}, { ...secrets, secret: 'wrong-secret-value' })));
      expect(secret.ok || secret.message).toMatch(/40001.*Secret is invalid/);
      expect(secret.ok || secret.message).not.toContain('wrong-secret-value');
      const corp = await wecomKfAdapter.check!(fresh(ctx({ corpId: 'wwffffffffffffffff' })));
      expect(corp.ok || corp.message).toMatch(/40013.*CorpID is invalid/);
      fake.denyIp = true;
      const ip = await wecomKfAdapter.check!(fresh(ctx()));
      fake.denyIp = false;
      expect(ip.ok || ip.message).toMatch(/60020.*企业可信IP/);
      const unmanaged = await wecomKfAdapter.check!(ctx({ openKfIds: ['wkNotManagedAccount000'] }));
      expect(unmanaged.ok || unmanaged.message).toContain('wkNotManagedAccount000');
      const key = await wecomKfAdapter.check!(ctx({}, { ...secrets, encodingAesKey: 'short' }));
      expect(key.ok || key.message).toContain('EncodingAESKey');
      expect(fake.rejected).toEqual([]);
    });
  });
});
