// A minimal customer-service chat page on @huiliu/sdk. libs/huiliu-sdk.js is the SDK's mini-program
// build (see ../../README.md); it talks to Huiliu through wx.request, wx.uploadFile and wx.connectSocket.
const { createHuiliu } = require('../../libs/huiliu-sdk.js');
const config = require('../../config.js');

/** Agents' typing is refreshed every few seconds while they type; a lost "stopped" must not stick. */
const TYPING_TTL_MS = 6000;

/**
 * Signed-in users: your backend turns the wx.login code into your user id and signs it with the inbox
 * identity key. Answer shape: { identifier, identifierHash, name? }. Anything else: chat anonymously.
 */
function fetchIdentity() {
  if (!config.identityEndpoint) return Promise.resolve(null);
  return new Promise((resolve) => {
    wx.login({
      success: (login) =>
        wx.request({
          url: config.identityEndpoint,
          method: 'POST',
          data: { code: login.code },
          success: (res) => resolve(res.statusCode === 200 && res.data && res.data.identifierHash ? res.data : null),
          fail: () => resolve(null),
        }),
      fail: () => resolve(null),
    });
  });
}

Page({
  data: { items: [], draft: '', status: 'connecting', typing: '', hasEarlier: false, error: '', scrollTo: '' },

  onLoad() {
    fetchIdentity()
      .then((identity) => {
        const options = { baseUrl: config.baseUrl, inboxId: config.inboxId, locale: 'zh-CN' };
        if (identity) options.identity = identity;
        const chat = createHuiliu(options);
        this.chat = chat;
        this.agentRead = 0;
        this.offs = [
          chat.on('messages', () => this.render()),
          chat.on('status', (status) => this.setData({ status })),
          chat.on('message', (m) => {
            if (m.direction === 'outgoing') this.setTyping('');
            if (this.visible) chat.markRead(m.seq);
          }),
          chat.on('typing', (e) => {
            if (e.senderType !== 'contact') this.setTyping(e.typing ? `${e.senderName || '客服'}正在输入…` : '');
          }),
          chat.on('read', (e) => {
            if (e.readerType === 'user' && e.seq > this.agentRead) {
              this.agentRead = e.seq;
              this.render();
            }
          }),
          chat.on('error', (e) => this.setData({ error: e.message })),
        ];
        return chat.connect();
      })
      .then(() => {
        this.render();
        this.chat.markRead();
      })
      .catch((e) => this.setData({ error: e.message, status: 'offline' }));
  },

  onShow() {
    this.visible = true;
    if (this.chat) this.chat.markRead();
  },

  onHide() {
    this.visible = false;
  },

  onUnload() {
    (this.offs || []).forEach((off) => off());
    clearTimeout(this.typingTimer);
    if (this.chat) this.chat.destroy();
  },

  render() {
    const chat = this.chat;
    const items = chat.timeline().map((item) => {
      if (item.kind === 'message') {
        const m = item.message;
        const file = m.attachments[0];
        const isImage = Boolean(file && file.contentType.indexOf('image/') === 0);
        return {
          key: item.key,
          mine: m.direction === 'incoming', // incoming = from the customer, i.e. from this user
          system: m.direction === 'activity',
          text: m.text,
          image: isImage ? chat.absoluteUrl(file.url) : '',
          file: file && !isImage ? file.fileName : '',
          state: m.direction === 'incoming' && m.seq <= this.agentRead ? '已读' : '',
        };
      }
      const o = item.outgoing;
      return {
        key: item.key,
        mine: true,
        system: false,
        text: o.text,
        image: '',
        file: o.attachmentIds.length ? '文件' : '',
        state: o.status === 'failed' ? '发送失败，点击重试' : '发送中…',
        failed: o.status === 'failed',
      };
    });
    this.setData({ items, hasEarlier: chat.hasEarlier, scrollTo: items.length ? `m${items.length - 1}` : '' });
  },

  setTyping(text) {
    clearTimeout(this.typingTimer);
    this.setData({ typing: text });
    if (text) this.typingTimer = setTimeout(() => this.setData({ typing: '' }), TYPING_TTL_MS);
  },

  onInput(e) {
    this.setData({ draft: e.detail.value });
    if (this.chat) this.chat.typing(e.detail.value.length > 0);
  },

  onBlur() {
    if (this.chat) this.chat.typing(false);
  },

  send() {
    const text = this.data.draft.trim();
    if (!text || !this.chat) return;
    this.setData({ draft: '', error: '' });
    this.chat.send(text).result.then((r) => {
      if (!r.ok) this.setData({ error: r.error.message });
    });
  },

  chooseImage() {
    wx.chooseMedia({
      count: 1,
      mediaType: ['image'],
      sourceType: ['album', 'camera'],
      success: (res) => {
        const path = res.tempFiles[0].tempFilePath;
        this.chat.send({ file: { path } }).result.then((r) => {
          if (!r.ok) this.setData({ error: r.error.message });
        });
      },
    });
  },

  retry(e) {
    if (e.currentTarget.dataset.failed) this.chat.retry(e.currentTarget.dataset.key);
  },

  preview(e) {
    wx.previewImage({ urls: [e.currentTarget.dataset.url] });
  },

  loadEarlier() {
    this.chat
      .loadEarlier()
      .then(() => this.render())
      .catch((e) => this.setData({ error: e.message }));
  },
});
