// Your Huiliu server and inbox. The host must be on the mini-program's request, socket and uploadFile
// domain lists (小程序后台 → 开发 → 开发管理 → 开发设置 → 服务器域名), over https / wss.
module.exports = {
  baseUrl: 'https://kf.example.com',
  inboxId: 'YOUR_INBOX_PUBLIC_ID',
  // Your own backend: exchanges the wx.login code for your user id and its identifierHash
  // (HMAC-SHA256 with the inbox identity key, which never ships in the mini-program). null = anonymous.
  identityEndpoint: 'https://api.your-shop.example/huiliu/identity',
};
