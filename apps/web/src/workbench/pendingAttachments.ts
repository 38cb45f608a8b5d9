/**
 * File names of attachments on messages still in the outbox. The outbox keeps only attachment ids, and a
 * pending bubble should show what is being sent. Lost on reload, where the bubble falls back to a count.
 */
const names = new Map<string, string[]>();

export const rememberAttachmentNames = (clientId: string, fileNames: string[]) => void names.set(clientId, fileNames);
export const attachmentNamesOf = (clientId: string): string[] => names.get(clientId) ?? [];
