export { emailAdapter } from './email.adapter.ts';
export { EmailConfig } from './config.ts';
