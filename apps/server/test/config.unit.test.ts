import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

/** The problems loadConfig reports for an environment (none when it loads). */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
}

describe('configuration', () => {
  it('has working defaults: port 3000, ./data, embedded database', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.dataDir).toMatch(/\/data$/);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.publicUrl).toBe('http://localhost:3000');
    expect(c.maxUploadBytes).toBe(20 * 1024 * 1024);
  });

  it('lists every problem at once, naming the variable and what is expected', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x', HUILIU_MAX_UPLOAD_MB: '-1', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect((error as ConfigError).problems).toHaveLength(4);
    expect(problems).toContain('PORT');
    expect(problems).toContain('DATABASE_URL: must be a PostgreSQL URL');
    expect(problems).toContain('HUILIU_MAX_UPLOAD_MB');
    expect(problems).toContain('LOG_LEVEL');
  });

  it('runs every role on one node by default and reads cluster settings', () => {
    const single = loadConfig({});
    expect([...single.roles]).toEqual(['api', 'realtime', 'worker', 'scheduler']);
    expect(single.redisUrl).toBeUndefined();
    expect(single.redisPrefix).toBe('huiliu:');
    const c = loadConfig({ DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://:pw@r:6379/2', HUILIU_ROLES: 'api, Realtime', HUILIU_NODE_ID: 'node-a' });
    expect([...c.roles]).toEqual(['api', 'realtime']);
    expect(c.redisUrl).toBe('redis://:pw@r:6379/2');
    expect(c.nodeId).toBe('node-a');
  });

  it('refuses unknown roles, a split or Redis without PostgreSQL, and never echoes the Redis password', () => {
    expect(problems({ DATABASE_URL: 'postgres://h/db', HUILIU_ROLES: 'api,cron' }).join('\n')).toMatch(/HUILIU_ROLES: unknown role "cron"; use all or a comma list of api, realtime, worker, scheduler/);
    expect(problems({ HUILIU_ROLES: 'worker' }).join('\n')).toMatch(/HUILIU_ROLES: splitting roles across processes needs a shared PostgreSQL — set DATABASE_URL/);
    expect(problems({ REDIS_URL: 'redis://r:6379' }).join('\n')).toMatch(/REDIS_URL: cluster mode needs PostgreSQL too — set DATABASE_URL/);
    const bad = problems({ REDIS_URL: 'http://:s3cret@r' }).join('\n');
    expect(bad).toMatch(/REDIS_URL: must be a Redis URL/);
    expect(bad).not.toContain('s3cret');
  });

  it('keeps attachments on disk by default and in the database in a cluster; refuses an unknown store', () => {
    expect(loadConfig({}).storage).toBe('disk');
    expect(loadConfig({ DATABASE_URL: 'postgres://h/db' }).storage).toBe('disk');
    expect(loadConfig({ DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://r:6379' }).storage).toBe('database');
    expect(loadConfig({ HUILIU_STORAGE: 'database' }).storage).toBe('database');
    expect(loadConfig({ DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://r:6379', HUILIU_STORAGE: 'disk' }).storage).toBe('disk');
    expect(problems({ HUILIU_STORAGE: 's3' }).join('\n')).toMatch(/HUILIU_STORAGE: must be disk \(.*\) or database \(.*\) \(got "s3"\)/);
    // The database store reads a blob whole: a huge upload limit with it is a mistake caught at start.
    expect(problems({ DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://r:6379', HUILIU_MAX_UPLOAD_MB: '500' }).join('\n'))
      .toMatch(/HUILIU_MAX_UPLOAD_MB: at most 200 with attachments in the database \(HUILIU_STORAGE=database, the default with REDIS_URL\) — lower it/);
    expect(loadConfig({ HUILIU_STORAGE: 'database', HUILIU_MAX_UPLOAD_MB: '200' }).maxUploadBytes).toBe(200 * 1024 * 1024);
  });

  it('treats empty variables as unset and trims a trailing slash from the public URL', () => {
    const c = loadConfig({ PORT: '', HUILIU_PUBLIC_URL: 'https://support.example.com/' });
    expect(c.port).toBe(3000);
    expect(c.publicUrl).toBe('https://support.example.com');
  });
});
