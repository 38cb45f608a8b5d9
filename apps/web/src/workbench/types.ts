import type { z } from 'zod';
import type { Conversation, ConversationStatus, ConversationWithContact } from '@huiliu/contracts';

/** A row of the conversation list as the API returns it (type only: zod stays out of the bundle). */
export type ListItem = z.infer<typeof ConversationWithContact>;
export type ConversationPage = { items: ListItem[]; nextCursor: string | null };

export type AssigneeTab = 'me' | 'unassigned' | 'any';

export interface Filters {
  assignee: AssigneeTab;
  status: ConversationStatus | 'all';
  inboxId?: string | undefined;
  teamId?: string | undefined;
  tag?: string | undefined;
}

export const DEFAULT_FILTERS: Filters = { assignee: 'me', status: 'open' };

export interface UploadLimits {
  maxBytes: number;
  contentTypes: string[];
}

/** What the header actions hand back so the list and the view can apply it at once. */
export type ConversationChange = (conversation: Conversation) => void;

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
