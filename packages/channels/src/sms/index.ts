export { smsAdapter } from './sms.adapter.ts';
export { SmsConfig, type SmsProvider, type SmsWebhook } from './sms-provider.ts';
export { twilioProvider } from './twilio/twilio.provider.ts';
export { twilioSignature, verifyTwilioSignature } from './twilio/twilio-signature.ts';
