// Loads the ledger's Lua scripts and registers them on a client with ioredis `defineCommand`, which runs them
// by EVALSHA (falling back to EVAL once per connection when the server does not know the script yet).
import fs from 'node:fs';
import path from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { decodeReply, type Reply } from './replies';
import { awaitReplicas, writtenOn, type ReplicationGuard } from './replication';

export type RedisClient = Redis | Cluster;

const SCRIPT_FILES = {
  claim: 'claim',
  renew: 'renew',
  commit: 'commit',
  release: 'release',
  reject: 'reject',
  rejectUnsafe: 'reject-unsafe',
  retryRejected: 'retry-rejected',
  reprocess: 'reprocess',
  observe: 'observe',
  renewRunning: 'renew-running',
  beginRun: 'begin-run',
  endRun: 'end-run',
  due: 'due',
  vanish: 'vanish',
  takeAction: 'take-action',
  actionDone: 'action-done',
  finished: 'finished',
  forget: 'forget',
} as const;

export type ScriptName = keyof typeof SCRIPT_FILES;

/** Runs one ledger script and returns its reply, decoded and checked (replies.ts). */
export type RunScript = <N extends ScriptName>(name: N, keys: string[], args: (string | number)[]) => Promise<Reply<N>>;

// ioredis flattens array arguments, so a batch of thousands of keys needs no spread into the call.
type ScriptCommand = (numKeys: number, keys: string[], args: (string | number)[]) => Promise<string>;

const scriptDir = path.join(__dirname, 'scripts');

const readLua = (file: string): string => fs.readFileSync(path.join(scriptDir, `${file}.lua`), 'utf8');

let sources: Record<ScriptName, string> | undefined;

// Each script is the shared helpers followed by its own body: Redis scripts cannot include one another.
function scriptSources(): Record<ScriptName, string> {
  if (!sources) {
    const common = readLua('common');
    const entries = Object.entries(SCRIPT_FILES).map(([name, file]) => [name, `${common}\n${readLua(file)}`]);
    sources = Object.fromEntries(entries) as Record<ScriptName, string>;
  }
  return sources;
}

const commandName = (name: ScriptName): string => `ftpiLedger_${name}`;

/** Scripts that only read (or write no more than a scan cursor): no need to wait for replicas after them. */
const READ_ONLY: ReadonlySet<ScriptName> = new Set(['due', 'finished']);

export function registerScripts(redis: RedisClient, guard?: ReplicationGuard): RunScript {
  for (const [name, lua] of Object.entries(scriptSources())) {
    redis.defineCommand(commandName(name as ScriptName), { lua });
  }
  const commands = redis as unknown as Record<string, ScriptCommand>;
  return async (name, keys, args) => {
    const command = commands[commandName(name)];
    if (!command) throw new Error(`ledger script ${name} is not registered`);
    const raw = await command.call(redis, keys.length, keys, args);
    const [key] = keys;
    // Noted before anything else runs: the connection that just carried the reply.
    const write =
      guard && guard.replicas > 0 && key !== undefined && !READ_ONLY.has(name) ? writtenOn(redis, key) : undefined;
    const reply = decodeReply(name, raw);
    if (guard && write) await awaitReplicas(write, guard);
    return reply;
  };
}
