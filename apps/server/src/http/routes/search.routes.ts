import { SearchQuery, SearchResponse } from '@huiliu/contracts';
import { defineRoute } from '../route.ts';
import type { Services } from '../../services.ts';

export const searchRoutes = (s: Services) => [
  defineRoute({
    method: 'GET', url: '/api/v1/search', summary: 'Search contacts, conversations (also by #number) and messages — Chinese and English', tags: ['search'], auth: 'user',
    query: SearchQuery, response: SearchResponse, handler: ({ actor, query }) => s.search.search(actor, query.q, query.limit),
  }),
];
