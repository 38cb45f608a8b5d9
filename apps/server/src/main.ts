import { Command } from 'commander';
import { createLogger } from '@huiliu/core/shared/logger';
import { DataDirLockedError } from '@huiliu/core/db/data-dir-lock';
import { ConfigError, loadConfig, parseRoles, ROLES, type Config } from './config.ts';
import { RedisUnavailableError } from './cluster/redis.ts';
import { startHuiliu, VERSION, type Huiliu } from './app.ts';
import { adminCreate } from './cli/admin-create.ts';
import { backup, restore } from './cli/backup.ts';
import { migrateToPostgres } from './cli/migrate-to-postgres.ts';

/** Turns expected failures (bad config, locked data dir, bad flags) into one readable line and exit code 1. */
async function run(fn: (config: Config) => Promise<void>): Promise<void> {
  try {
    await fn(loadConfig());
  } catch (err) {
    if (err instanceof ConfigError || err instanceof DataDirLockedError || err instanceof RedisUnavailableError || (err instanceof Error && /^--|^[A-Z_]+:/.test(err.message))) {
      console.error(`huiliu: ${err.message}`);
    } else {
      console.error('huiliu: failed:', err);
    }
    process.exitCode = 1;
  }
}

/** The web-widget inbox of the demo workspace, if there is one (printed as the demo page on every start); `bot`: the one with the AI bot. */
async function demoWidgetInbox(node: Huiliu, bot = false): Promise<string | undefined> {
  const rows = await node.services.db.query<{ public_id: string }>(
    `SELECT i.public_id FROM inboxes i JOIN workspaces w ON w.id = i.workspace_id
     WHERE w.slug = 'demo' AND i.channel_type = 'web' AND i.deleted_at IS NULL AND i.bot_enabled = $1 ORDER BY i.created_at LIMIT 1`,
    [bot],
  );
  return rows[0]?.public_id;
}

async function start(config: Config): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const startedAt = Date.now();
  const node = await startHuiliu({ config, logger });
  const base = config.publicUrl;
  const demoInbox = node.demo?.widgetInboxPublicId ?? (await demoWidgetInbox(node));
  const botInbox = node.demo?.botInboxPublicId ?? (await demoWidgetInbox(node, true));
  const lines = [
    '',
    `  Huiliu ${VERSION} is running (${config.databaseUrl ? 'PostgreSQL' : `embedded database in ${config.dataDir}`}${config.redisUrl ? ', cluster mode with Redis' : ''}) — started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    ...(config.roles.size < ROLES.length || config.redisUrl ? [`  Node ${config.nodeId}, roles: ${[...config.roles].join(', ')}`] : []),
    ...node.warnings.map((w) => `  WARNING: ${w}`),
    '',
    `  Agent workbench ${base}/   ← sign in here`,
    ...(demoInbox ? [`  Demo shop page  ${base}/demo/${demoInbox}   ← chat as a customer through the widget`] : []),
    ...(botInbox ? [`  AI bot demo     ${base}/demo/${botInbox}   ← the bot answers first: try 你好, 查询订单 HL20261118001, 退款多久到账, 转人工`] : []),
    '',
    `  API            ${base}/api/v1`,
    `  API reference  ${base}/openapi.json`,
    `  Health         ${base}/healthz`,
    `  Realtime       ${base}/socket.io  (protocol: packages/contracts/src/realtime.ts)`,
  ];
  if (node.demo) {
    lines.push(
      '',
      '  A demo workspace was created. Its password is shown ONLY NOW — write it down:',
      `    workspace   ${node.demo.workspace}`,
      `    admin       ${node.demo.adminEmail}`,
      `    agents      ${node.demo.agentEmails.join(' ')}`,
      `    password    ${node.demo.password}   (same for all three)`,
      `    widget inbox publicId  ${node.demo.widgetInboxPublicId}`,
      '',
      `  Try: curl -s ${base}/api/v1/auth/login -H 'content-type: application/json' \\`,
      `         -d '{"email":"${node.demo.adminEmail}","password":"${node.demo.password}"}'`,
    );
  }
  console.log(lines.join('\n') + '\n');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining connections and jobs, checkpointing the database');
    const force = setTimeout(() => process.exit(1), 15_000);
    await node.close();
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

const program = new Command('huiliu').description('Huiliu (汇流) omnichannel customer service').version(VERSION);

program
  .command('start', { isDefault: true })
  .description('start the server (embedded database unless DATABASE_URL is set; cluster mode with DATABASE_URL + REDIS_URL)')
  .option('--roles <roles>', 'what this node does: all, or a comma list of api,realtime,worker,scheduler (overrides HUILIU_ROLES)')
  .action((o: { roles?: string }) =>
    run(async (config) => {
      if (o.roles !== undefined) {
        const roles = parseRoles(o.roles);
        if (typeof roles === 'string') throw new Error(`--roles: ${roles}`);
        // The same rule as HUILIU_ROLES: a split node needs the shared database.
        if (roles.size < ROLES.length && !config.databaseUrl) throw new Error('--roles: splitting roles across processes needs a shared PostgreSQL — set DATABASE_URL (and REDIS_URL), or run all roles in one process');
        config = { ...config, roles };
      }
      await start(config);
    }),
  );

const admin = program.command('admin').description('administration');
admin
  .command('create')
  .description('create an admin user (and the workspace if it does not exist)')
  .requiredOption('--email <email>', 'login email')
  .option('--name <name>', 'display name', 'Admin')
  .option('--password <password>', 'password (generated and printed when left out)')
  .option('--workspace <slug>', 'workspace slug', 'default')
  .option('--workspace-name <name>', 'workspace name for a new workspace')
  .action((o: { email: string; name: string; password?: string; workspace: string; workspaceName?: string }) =>
    run(async (config) => {
      const r = await adminCreate(config, o);
      console.log(`admin ${r.email} created in workspace "${r.workspace}"${r.generated ? `; password: ${r.password}  (shown once)` : ''}`);
    }),
  );

program
  .command('backup')
  .description('write a consistent backup of the embedded data directory (database, attachments, key) to a .tar.gz file')
  .requiredOption('--out <file>', 'backup file to write')
  .action((o: { out: string }) => run(async (config) => console.log(await backup(config, o.out))));

program
  .command('restore')
  .description('restore a backup into an empty (or --force) embedded data directory')
  .requiredOption('--from <file>', 'backup file to read')
  .option('--force', 'replace an existing data directory')
  .action((o: { from: string; force?: boolean }) => run(async (config) => console.log(await restore(config, o.from, { force: Boolean(o.force) }))));

program
  .command('migrate-to-postgres')
  .description('copy the embedded installation into an empty PostgreSQL database, verifying every row')
  .argument('<DATABASE_URL>', 'target PostgreSQL URL')
  .action((url: string) => run(async (config) => console.log(await migrateToPostgres(config, url))));

await program.parseAsync(process.argv);
