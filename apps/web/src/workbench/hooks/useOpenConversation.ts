import { useCallback, useEffect, useState } from 'react';
import type { Contact, Conversation } from '@huiliu/contracts';
import { ApiError, api } from '../../lib/api.ts';
import { useSession } from '../../lib/session.tsx';

export interface OpenConversation {
  conversation: Conversation | null;
  contact: Contact | null;
  /** null while loading; an ApiError (not_found…) when the conversation cannot be shown. */
  error: ApiError | Error | null;
  setConversation: (c: Conversation) => void;
  setContact: (c: Contact) => void;
}

/**
 * The conversation in the middle column and its contact, kept live by `conversation.updated` events and
 * fetched again after a reconnect (an assignment or status change may have happened meanwhile).
 * `initialContact` (from the list row) fills the header before the contact request answers.
 */
export function useOpenConversation(id: string, initialContact: Contact | null): OpenConversation {
  const { chat } = useSession();
  const [conversation, setConversation] = useState<Conversation | null>(null);
  const [contact, setContact] = useState<Contact | null>(initialContact);
  const [error, setError] = useState<ApiError | Error | null>(null);

  const load = useCallback(
    async (isCancelled: () => boolean) => {
      try {
        const c = await api<Conversation>('GET', `/conversations/${id}`);
        if (isCancelled()) return;
        setConversation(c);
        setError(null);
        // Without contact.read the profile stays as the list row showed it.
        const ct = await api<Contact>('GET', `/contacts/${c.contactId}`).catch(() => null);
        if (ct && !isCancelled()) setContact(ct);
      } catch (e) {
        if (!isCancelled()) setError(e instanceof Error ? e : new Error(String(e)));
      }
    },
    [id],
  );

  useEffect(() => {
    let cancelled = false;
    void load(() => cancelled);
    let dropped = false;
    const offs = [
      chat.on('conversation', (c) => {
        if (c.id === id && 'inboxId' in c) setConversation(c);
      }),
      chat.on('status', (s) => {
        if (s !== 'online') dropped = true;
        else if (dropped) {
          dropped = false;
          void load(() => cancelled);
        }
      }),
    ];
    return () => {
      cancelled = true;
      offs.forEach((off) => off());
    };
  }, [chat, id, load]);

  return { conversation, contact, error, setConversation, setContact };
}
