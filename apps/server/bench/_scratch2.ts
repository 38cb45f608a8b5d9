import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, SERVER_MAIN, startChild, waitForHealthy } from './proc.ts';
import { api } from './http.ts';
const dir = await mkdtemp(join(tmpdir(), 'huiliu-rl-'));
const port = await freePort();
const c = startChild(['--import', 'tsx', SERVER_MAIN, 'start'], { ...process.env, PORT: String(port), HUILIU_DATA_DIR: dir, LOG_LEVEL: 'warn' }, 'srv');
try {
  await c.waitForOutput(/widget inbox publicId\s+(\S+)/, 120000);
  const base = `http://127.0.0.1:${port}`;
  await waitForHealthy(`${base}/healthz`, c, 60000);
  const plain: number[] = [], rotating: number[] = [];
  for (let i = 0; i < 12; i++) plain.push((await api(base, 'POST', '/api/v1/auth/login', { body: { email: 'admin@demo.huiliu.local', password: 'wrong-password-x' }, localAddress: '127.9.0.1' })).status);
  for (let i = 0; i < 12; i++) rotating.push((await api(base, 'POST', '/api/v1/auth/login', { body: { email: 'admin@demo.huiliu.local', password: 'wrong-password-x' }, localAddress: '127.9.0.2', token: `fake${i}fake${i}fake${i}xx` })).status);
  console.log('same IP, no header:      ', plain.join(' '));
  console.log('same IP, rotating bearer:', rotating.join(' '));
} finally {
  await c.stop();
  await rm(dir, { recursive: true, force: true });
}
process.exit(0);
