import { useState } from 'react';
import type { Contact, Conversation } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { ContactChannels } from './ContactChannels.tsx';
import { ContactMerges } from './ContactMerges.tsx';
import { ContactTimelineDrawer } from './ContactTimelineDrawer.tsx';
import './identity.css';

interface Props {
  contact: Contact;
  conversationId: string;
  onContact: (c: Contact) => void;
}

/**
 * Cross-channel identity in the profile panel: where the customer can be reached (reply via another
 * channel), their whole timeline across channels, lookalikes to merge and the merge history.
 */
export function IdentitySection({ contact, conversationId, onContact }: Props) {
  const [rev, setRev] = useState(0);
  const [timeline, setTimeline] = useState(false);

  /**
   * After a merge or unmerge the open conversation may belong to the other contact now (an unmerge moves
   * it back): the profile follows the conversation.
   */
  const changed = async (next: Contact) => {
    let shown = next;
    const conversation = await api<Conversation>('GET', `/conversations/${conversationId}`).catch(() => null);
    if (conversation && conversation.contactId !== next.id) {
      shown = (await api<Contact>('GET', `/contacts/${conversation.contactId}`).catch(() => null)) ?? next;
    }
    onContact(shown);
    setRev((r) => r + 1);
  };

  return (
    <>
      <ContactChannels contactId={contact.id} conversationId={conversationId} rev={rev} onTimeline={() => setTimeline(true)} />
      <ContactMerges contact={contact} rev={rev} onChanged={(c) => void changed(c)} />
      <ContactTimelineDrawer open={timeline} contact={contact} onClose={() => setTimeline(false)} />
    </>
  );
}
