import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

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

  it('treats empty variables as unset and trims a trailing slash from the public URL', () => {
    const c = loadConfig({ PORT: '', HUILIU_PUBLIC_URL: 'https://support.example.com/' });
    expect(c.port).toBe(3000);
    expect(c.publicUrl).toBe('https://support.example.com');
  });
});
