/**
 * A private Dovecot IMAP server for tests (Debian package dovecot-imapd, `/usr/sbin/dovecot`): its own
 * config, run directory and maildirs in a temporary directory, listening on 127.0.0.1 only, plain-text
 * passwords from a passwd-file, no TLS. Mail is delivered the way a mail client files it: IMAP APPEND.
 *
 * Works as root (CI containers): Dovecot refuses to let mail processes run as root, so the maildirs
 * belong to the `dovecot` system user and the temporary directory is made traversable for it and for
 * the login processes (`dovenull`). As a normal user everything runs as that user.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { freePort } from './ports.ts';

const run = promisify(execFile);

export const DOVECOT_BIN = process.env.DOVECOT_BIN ?? '/usr/sbin/dovecot';
const DOVEADM_BIN = process.env.DOVEADM_BIN ?? '/usr/bin/doveadm';

export interface DovecotOptions {
  /** user → password. */
  users: Record<string, string>;
  /** false: the server does not advertise IDLE, so clients must poll. Default true. */
  idle?: boolean;
}

export interface AppendOptions {
  mailbox?: string;
  flags?: string[];
  /** INTERNALDATE of the message; default now. */
  date?: Date;
}

export interface Dovecot {
  host: string;
  port: number;
  /** Delivers one raw RFC 822 message into a user's mailbox (IMAP APPEND as that user). */
  append(user: string, raw: string | Buffer, opts?: AppendOptions): Promise<{ uid: number | undefined; uidValidity: bigint | undefined }>;
  /** Sets a mailbox's UIDVALIDITY (doveadm mailbox update), as a server migration or rebuild would change it. */
  setUidValidity(user: string, mailbox: string, value: number): Promise<void>;
  /** Stops and starts the server on the same port: every client connection drops. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

function systemUser(name: string): { uid: number; gid: number } | undefined {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
    const parts = line?.split(':');
    return parts ? { uid: Number(parts[2]), gid: Number(parts[3]) } : undefined;
  } catch {
    return undefined;
  }
}

function groupName(gid: number): string | undefined {
  try {
    return readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[2] === String(gid))?.split(':')[0];
  } catch {
    return undefined;
  }
}

function waitForGreeting(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`dovecot exited with code ${child.exitCode}`));
      const sock = connect(port, '127.0.0.1');
      let buf = '';
      sock.setTimeout(1_000);
      sock.on('data', (d) => {
        buf += d.toString();
        if (buf.startsWith('* OK')) {
          sock.destroy();
          resolve();
        }
      });
      const retry = () => {
        sock.destroy();
        if (Date.now() > deadline) return reject(new Error(`dovecot did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`));
        setTimeout(attempt, 100);
      };
      sock.on('error', retry);
      sock.on('timeout', retry);
    };
    attempt();
  });
}

export async function startDovecot(opts: DovecotOptions): Promise<Dovecot> {
  if (!existsSync(DOVECOT_BIN)) {
    throw new Error(`${DOVECOT_BIN} not found: install the Debian package dovecot-imapd (apt-get install dovecot-imapd), or set DOVECOT_BIN`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'huiliu-dovecot-'));
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const me = userInfo();
  const mailUser = asRoot ? (systemUser('dovecot') ?? { uid: 65534, gid: 65534 }) : { uid: me.uid, gid: me.gid };
  const confPath = join(dir, 'dovecot.conf');
  const passwdPath = join(dir, 'passwd');
  const mailRoot = join(dir, 'mail');
  const logPath = join(dir, 'dovecot.log');

  // The login (dovenull) and mail (dovecot) processes must reach files below this directory.
  await chmod(dir, 0o755);
  await mkdir(mailRoot, { recursive: true });
  if (asRoot) await chown(mailRoot, mailUser.uid, mailUser.gid);
  // Base64 (the PLAIN scheme's .b64 encoding): passwords may contain ':', the passwd-file field separator.
  await writeFile(passwdPath, Object.entries(opts.users).map(([u, p]) => `${u}:{PLAIN.b64}${Buffer.from(p).toString('base64')}::::::\n`).join(''), { mode: 0o644 });

  const lines = [
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `instance_name = huiliu-test-${port}`,
    `log_path = ${logPath}`,
    'protocols = imap',
    'listen = 127.0.0.1',
    'ssl = no',
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    // Failed logins answer at once: no fixed delay and no growing per-IP penalty (anvil's auth-penalty socket
    // closed, as Dovecot's docs describe), so tests of wrong passwords stay short and independent.
    'auth_failure_delay = 0',
    `service anvil {\n${asRoot ? '' : '  chroot =\n'}  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}`,
    `mail_location = maildir:${mailRoot}/%u`,
    // The default (500) would refuse the `dovecot` system user that owns the maildirs when run as root.
    'first_valid_uid = 1',
    ...(asRoot
      ? ['default_internal_user = dovecot', 'default_internal_group = dovecot', 'default_login_user = dovenull']
      : [
          `default_internal_user = ${me.username}`,
          `default_internal_group = ${groupName(me.gid) ?? me.username}`,
          `default_login_user = ${me.username}`,
        ]),
    // Capabilities after login; without IDLE clients fall back to polling.
    ...(opts.idle === false ? ['imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ NAMESPACE UIDPLUS CHILDREN UNSELECT ESEARCH'] : []),
    'passdb {',
    '  driver = passwd-file',
    `  args = scheme=PLAIN username_format=%u ${passwdPath}`,
    '}',
    'userdb {',
    '  driver = static',
    `  args = uid=${mailUser.uid} gid=${mailUser.gid} home=${mailRoot}/%u`,
    '}',
    'service imap-login {',
    // Chrooting the login processes needs root.
    ...(asRoot ? [] : ['  chroot =']),
    '  inet_listener imap {',
    '    address = 127.0.0.1',
    `    port = ${port}`,
    '  }',
    '  inet_listener imaps {',
    '    port = 0',
    '  }',
    '}',
    '',
  ];
  await writeFile(confPath, lines.join('\n'));

  let child: ChildProcess | null = null;
  const start = async () => {
    // Its own process group, so stopping it also ends the imap processes serving open connections.
    const proc = spawn(DOVECOT_BIN, ['-F', '-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = proc;
    let output = '';
    proc.stdout?.on('data', (d) => (output += d));
    proc.stderr?.on('data', (d) => (output += d));
    try {
      await waitForGreeting(port, 15_000, proc);
    } catch (err) {
      proc.kill('SIGKILL');
      const log = await readFile(logPath, 'utf8').catch(() => '');
      const check = await run(DOVECOT_BIN, ['-n', '-c', confPath]).then((r) => r.stderr, (e: { stderr?: string }) => e.stderr ?? '');
      throw new Error(`${(err as Error).message}\n${output}\n${log}\n${check}`.trim());
    }
  };
  const halt = async () => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-proc.pid!, sig);
      } catch {
        proc.kill(sig);
      }
    };
    signalGroup('SIGTERM');
    const killer = setTimeout(() => signalGroup('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
    // Connection processes that outlive the master (they finish their client first) are ended too.
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      // group already gone
    }
  };

  try {
    await start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const users = { ...opts.users };
  return {
    host: '127.0.0.1',
    port,
    async append(user, raw, o = {}) {
      const password = users[user];
      if (password === undefined) throw new Error(`no Dovecot user "${user}"`);
      const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass: password }, logger: false, disableAutoIdle: true });
      c.on('error', () => undefined);
      await c.connect();
      try {
        const mailbox = o.mailbox ?? 'INBOX';
        if (mailbox !== 'INBOX') {
          const list = await c.list();
          if (!list.some((m) => m.path === mailbox)) await c.mailboxCreate(mailbox);
        }
        const r = await c.append(mailbox, typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw, o.flags ?? [], o.date ?? new Date());
        return { uid: r ? r.uid : undefined, uidValidity: r ? r.uidValidity : undefined };
      } finally {
        await c.logout().catch(() => undefined);
      }
    },
    async setUidValidity(user, mailbox, value) {
      await run(DOVEADM_BIN, ['-c', confPath, 'mailbox', 'update', '-u', user, '--uid-validity', String(value), mailbox]);
    },
    async restart() {
      await halt();
      await start();
    },
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
