import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor, UserActor, VisitorActor } from '@huiliu/core/auth/actor';
import { AppError } from '@huiliu/core/shared/errors';

/**
 * A route is data: method, path, auth, zod schemas and a handler. The same definition registers the
 * Fastify route, validates the request, and generates /openapi.json — one source of truth.
 * Handlers stay thin: parse → call one service → return what it returns.
 */
export type AuthKind = 'user' | 'visitor' | 'public';
type ActorFor<A extends AuthKind> = A extends 'user' ? UserActor : A extends 'visitor' ? VisitorActor : undefined;

export interface RouteContext<A extends AuthKind, P, Q, B> {
  actor: ActorFor<A>;
  params: P;
  query: Q;
  body: B;
  req: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteDef<A extends AuthKind = AuthKind, P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  summary: string;
  tags: string[];
  auth: A;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Response body schema; null for 204 No Content. */
  response: z.ZodType | null;
  status?: number;
  /** Requests per minute per client (IP, and user when signed in). */
  rateLimit?: number;
  /** Multipart upload route: body handled by the handler, documented as a file field. */
  multipart?: boolean;
  /** Raw response (file download): documented as binary. */
  binary?: boolean;
  handler(ctx: RouteContext<A, P, Q, B>): Promise<unknown>;
}

export function defineRoute<A extends AuthKind, P = undefined, Q = undefined, B = undefined>(def: RouteDef<A, P, Q, B>): RouteDef<A, P, Q, B> {
  return def;
}

/** Params schema for `:id` routes. */
export const IdParams = z.strictObject({ id: z.uuid({ message: 'must be a UUID' }) });

export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, where: 'params' | 'query' | 'body'): T {
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => {
    const keys = i.code === 'unrecognized_keys' ? (i as { keys: string[] }).keys : [];
    const path = [where, ...i.path.map(String), ...(keys.length === 1 ? keys : [])].join('.');
    const message = i.code === 'unrecognized_keys' ? `unknown field(s) ${keys.map((k) => `"${k}"`).join(', ')}; remove them` : i.message;
    return { path, message };
  });
  const first = issues[0]!;
  throw new AppError('validation_failed', `${first.path}: ${first.message}`, issues);
}

export type AnyRoute = RouteDef<AuthKind, any, any, any>;
export type Authenticator = (req: FastifyRequest, kind: AuthKind) => Promise<Actor | undefined>;
