import { z } from 'zod';
import { AcceptInviteBody, ChangePasswordBody, LoginBody, MeResponse, ResetPasswordBody, SessionResponse } from '@huiliu/contracts';
import { defineRoute } from '../route.ts';
import type { Services } from '../../services.ts';

// Every session response carries the upload limits (SessionResponse), so the console can check a file
// before uploading it without another round trip.
const meta = (req: { ip: string; headers: Record<string, unknown> }) => ({ ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') });

export const authRoutes = (s: Services) => [
  defineRoute({
    method: 'POST', url: '/api/v1/auth/login', summary: 'Sign in with email and password; returns a bearer token', tags: ['auth'],
    auth: 'public', body: LoginBody, response: SessionResponse, rateLimit: 10,
    handler: async ({ body, req }) => ({ ...(await s.users.login(body, meta(req))), uploads: s.uploadLimits }),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/auth/logout', summary: 'Revoke the current session', tags: ['auth'],
    auth: 'user', response: null,
    handler: ({ actor }) => s.users.logout(actor),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/auth/me', summary: 'The signed-in user, workspace and permissions', tags: ['auth'],
    auth: 'user', response: MeResponse,
    handler: async ({ actor }) => ({ ...(await s.users.me(actor)), uploads: s.uploadLimits }),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/auth/password', summary: 'Change password; every other session is revoked', tags: ['auth'],
    auth: 'user', body: ChangePasswordBody, response: SessionResponse, rateLimit: 10,
    handler: async ({ actor, body }) => ({ ...(await s.users.changePassword(actor, body)), uploads: s.uploadLimits }),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/auth/accept-invite', summary: 'Accept an invitation: set name and password, get a session', tags: ['auth'],
    auth: 'public', body: AcceptInviteBody, response: SessionResponse, rateLimit: 10,
    handler: async ({ body, req }) => ({ ...(await s.users.acceptInvite(body, meta(req))), uploads: s.uploadLimits }),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/auth/reset-password', summary: 'Set a new password with a reset token; all sessions are revoked', tags: ['auth'],
    auth: 'public', body: ResetPasswordBody, response: z.object({ ok: z.literal(true) }), rateLimit: 10,
    handler: async ({ body }) => {
      await s.users.resetPassword(body);
      return { ok: true as const };
    },
  }),
];
