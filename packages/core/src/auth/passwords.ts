import { hash, verify } from '@node-rs/argon2';

// argon2id (algorithm 2) with OWASP's minimum parameters: 19 MiB, 2 iterations, 1 lane.
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS as never);
}

export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  // Always spend the hashing time, even for unknown users, so response time does not reveal which emails exist.
  if (!passwordHash) {
    await hash(password, OPTIONS as never);
    return false;
  }
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}
