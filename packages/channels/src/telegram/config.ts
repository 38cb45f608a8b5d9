import { z } from 'zod';

/**
 * Non-secret settings of a Telegram inbox. The bot token and the webhook secret are secrets (vault).
 * apiBaseUrl exists for the local Bot API server (https://github.com/tdlib/telegram-bot-api) and for
 * tests, which point it at the fake platform.
 */
export const telegramConfigSchema = z.strictObject({
  apiBaseUrl: z.url({ protocol: /^https?$/ }).default('https://api.telegram.org')
    .describe('Bot API server; change only for a self-hosted Bot API server'),
  botUsername: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{3,31}$/, 'a Telegram username: 4-32 letters, digits or _')
    .optional()
    .describe('The bot\'s @username without @; "test connection" checks the token belongs to it'),
});
export type TelegramConfig = z.infer<typeof telegramConfigSchema>;

export const TELEGRAM_SECRETS = [
  { name: 'botToken', label: 'Bot token (from @BotFather)', required: true },
  { name: 'webhookSecret', label: 'Webhook secret token (1-256 of A-Z a-z 0-9 _ -)', required: true },
] as const;

/** https://core.telegram.org/bots/api#setwebhook — secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -. */
export const WEBHOOK_SECRET_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

/** https://core.telegram.org/bots/api#sendmessage — text: 1-4096 characters. */
export const MAX_TEXT = 4096;
/** https://core.telegram.org/bots/api#sendphoto — caption: 0-1024 characters. */
export const MAX_CAPTION = 1024;
/** https://core.telegram.org/bots/api#getfile — bots can download files of up to 20 MB. */
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;
/** https://core.telegram.org/bots/api#sendphoto — the photo must be at most 10 MB. */
export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
/** https://core.telegram.org/bots/api#sending-files — 50 MB for other files sent by multipart upload. */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

export function baseUrl(config: TelegramConfig): string {
  return config.apiBaseUrl.replace(/\/+$/, '');
}
