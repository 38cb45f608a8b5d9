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

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteContext<A extends AuthKind, PS, QS, BS> {
  actor: ActorFor<A>;
  params: Out<PS>;
  query: Out<QS>;
  body: Out<BS>;
  req: FastifyRequest;
  reply: FastifyReply;
}

/**
 * Generic over the schema types themselves (not their output types): inferring `T` through
 * `z.ZodType<T>` makes the TypeScript checker compare zod's deep class types structurally, which
 * took minutes and gigabytes for this file set.
 */
export interface RouteDef<A extends AuthKind = AuthKind, PS = unknown, QS = unknown, BS = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  summary: string;
  tags: string[];
  auth: A;
  params?: PS;
  query?: QS;
  body?: BS;
  /** Response body schema; null for 204 No Content. */
  response: z.ZodType | null;
  status?: number;
  /** Requests per minute per client (IP, and user when signed in). */
  rateLimit?: number;
  /** Multipart upload route: body handled by the handler, documented as a file field. */
  multipart?: boolean;
  /** Raw response (file download): documented as binary. */
  binary?: boolean;
  handler(ctx: RouteContext<A, PS, QS, BS>): Promise<unknown>;
}

export function defineRoute<A extends AuthKind, PS extends z.ZodType | undefined = undefined, QS extends z.ZodType | undefined = undefined, BS extends z.ZodType | undefined = undefined>(
  def: RouteDef<A, PS, QS, BS>,
): RouteDef<A, PS, QS, BS> {
  return def;
}

/** Params schema for `:id` routes. */
export const IdParams = z.strictObject({ id: z.uuid({ message: 'must be a UUID' }) });

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: 'params' | 'query' | 'body'): z.output<S> {
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

export type AnyRoute = RouteDef<AuthKind, z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;
export type Authenticator = (req: FastifyRequest, kind: AuthKind) => Promise<Actor | undefined>;
