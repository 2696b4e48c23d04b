// No Docker engine here: these tests read docker-compose.yml and the Dockerfile and check them against the
// project (config schema and its environment mapping, search attributes, the worker's endpoints).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { CONFIG_FILE_ENV, ENV_SETTINGS } from '../src/config';
import { loadConfig } from '../src/config';
import { LOG_LEVEL_ENV } from '../src/log';
import { WORKFLOW_BUNDLE_ENV } from '../src/stack/worker-process';
import { WORKER_ENV, WORKER_NODE_FLAGS } from '../src/worker/memory';
import { SEARCH_ATTRIBUTE_TYPES } from '../src/shared/search-attributes';

const root = path.resolve(__dirname, '..');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const compose = YAML.parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  assert.ok(s, `service ${name}`);
  return s;
};

/** The Dockerfile's stages: `FROM image AS name` and the instructions under it. */
function dockerStages(): { name: string; from: string; lines: string[] }[] {
  const text = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages: { name: string; from: string; lines: string[] }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2] ?? String(stages.length), lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

describe('docker-compose.yml', () => {
  test('runs the real stack: Temporal with its UI, Redis, an FTP server, the worker, a one-shot schedule', () => {
    for (const name of ['temporal', 'redis', 'ftp', 'worker', 'schedule']) service(name);
    const temporal = service('temporal');
    assert.ok(temporal.command?.includes('start-dev'));
    assert.ok(
      temporal.command?.some((a) => a.startsWith('--ui-port')),
      'the Web UI is on',
    );
    assert.ok(!temporal.command?.includes('--headless'));
    for (const name of Object.keys(SEARCH_ATTRIBUTE_TYPES)) {
      assert.ok(
        temporal.command?.some((a) => a.startsWith(`--search-attribute=${name}=`)),
        `search attribute ${name} is registered`,
      );
    }
    assert.ok(
      temporal.command?.some((a) => a.startsWith('--db-filename=')),
      'Temporal keeps its data across restarts',
    );
  });

  test('Redis persists the ledger (append-only file on a volume)', () => {
    const redis = service('redis');
    const args = redis.command ?? [];
    assert.equal(args[args.indexOf('--appendonly') + 1], 'yes');
    assert.ok(redis.volumes?.some((v) => v.endsWith(':/data')));
  });

  test('every long-running service has a healthcheck and a restart policy', () => {
    for (const name of ['temporal', 'redis', 'ftp', 'worker']) {
      const s = service(name);
      assert.ok(s.healthcheck?.test?.length, `${name} healthcheck`);
      assert.ok(['always', 'unless-stopped', 'on-failure'].includes(s.restart ?? ''), `${name} restart policy`);
    }
    assert.match(JSON.stringify(service('worker').healthcheck), /\/readyz/, 'the worker is healthy when ready');
  });

  test('the schedule and the worker wait for a healthy Temporal (no start-up race)', () => {
    const schedule = service('schedule');
    assert.deepEqual(schedule.command, ['schedule', 'create']);
    assert.equal(schedule.depends_on?.temporal?.condition, 'service_healthy');
    assert.notEqual(schedule.restart, 'always', 'a one-shot job is not restarted once it succeeded');
    const worker = service('worker');
    assert.deepEqual(worker.command, ['worker']);
    for (const dep of ['temporal', 'redis', 'ftp']) {
      assert.equal(worker.depends_on?.[dep]?.condition, 'service_healthy', `worker waits for ${dep}`);
    }
  });

  test('every published port is bound to loopback', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const port of s.ports ?? []) assert.match(String(port), /^127\.0\.0\.1:\d+:\d+$/, `${name}: ${port}`);
    }
    assert.ok(service('temporal').ports?.includes('127.0.0.1:8233:8233'), 'the Web UI is published');
    assert.ok(service('worker').ports?.includes('127.0.0.1:9464:9464'), 'the worker metrics are published');
  });

  test('the ingest containers are built from the Dockerfile, not a bind-mounted checkout', () => {
    for (const name of ['worker', 'schedule']) {
      const s = service(name);
      assert.ok(s.build, `${name} is built`);
      assert.ok(
        !(s.volumes ?? []).some((v) => v.startsWith('.:') || v.startsWith('./:')),
        `${name} mounts no checkout`,
      );
      assert.ok(!JSON.stringify(s.command).includes('npm'), `${name} runs no npm at start`);
    }
  });

  test('environment variable names match the config schema; the config file loads with them', () => {
    const configFile = service('worker').environment?.[CONFIG_FILE_ENV];
    assert.ok(configFile?.startsWith('/app/'), 'the config file is inside the image');
    if (!configFile) return;
    const local = path.join(root, configFile.slice('/app/'.length));
    const env: NodeJS.ProcessEnv = {};
    for (const name of ['worker', 'schedule']) {
      for (const [key, value] of Object.entries(service(name).environment ?? {})) {
        env[key] = String(value).replace(/\$\{[^}]+\}/g, 'secret');
      }
    }
    const config = loadConfig({ file: local, env });
    const passwordEnvs = config.sources.map((s) => s.passwordEnv).filter(Boolean);
    const known = new Set([
      ...Object.keys(ENV_SETTINGS),
      CONFIG_FILE_ENV,
      LOG_LEVEL_ENV,
      WORKFLOW_BUNDLE_ENV,
      ...passwordEnvs,
    ]);
    for (const key of Object.keys(env)) {
      if (key.startsWith('FTP_INGEST_')) assert.ok(known.has(key), `${key} is a known variable`);
    }
    for (const passwordEnv of passwordEnvs) assert.ok(env[passwordEnv!], `${passwordEnv} is set for the worker`);
    assert.equal(config.worker.metricsHost, '0.0.0.0', 'metrics reachable through the published port');
    assert.equal(config.worker.metricsPort, 9464);
    assert.equal(config.temporal.address, 'temporal:7233');
    assert.equal(new URL(config.redis.url).hostname, 'redis');
    assert.equal(config.sources[0]?.host, 'ftp');
  });
});

describe('Dockerfile', () => {
  const stages = dockerStages();
  const final = stages.at(-1)!;

  test('is multi-stage: a build stage prebuilds the workflow bundle that the final stage copies', () => {
    assert.ok(stages.length >= 2);
    const build = stages[0]!;
    assert.ok(build.lines.some((l) => /^RUN npm ci\b/.test(l) && !l.includes('--omit=dev')));
    assert.ok(build.lines.some((l) => l.includes('bundle-workflows.ts')));
    assert.ok(fs.existsSync(path.join(root, 'scripts', 'bundle-workflows.ts')));
    assert.ok(final.lines.some((l) => l.startsWith(`COPY --from=${build.name} `) && l.includes('workflow-bundle.js')));
    assert.ok(final.lines.some((l) => l.startsWith('ENV') && l.includes(`${WORKFLOW_BUNDLE_ENV}=`)));
  });

  test('the final stage installs production dependencies only and runs as a non-root user', () => {
    assert.ok(final.lines.some((l) => /^RUN npm ci\b.*--omit=dev/.test(l)));
    assert.ok(!final.lines.some((l) => /^RUN npm (ci|install)\b/.test(l) && !l.includes('--omit=dev')));
    const users = final.lines.filter((l) => l.startsWith('USER '));
    assert.ok(users.length > 0, 'USER is set');
    assert.ok(!['root', '0'].includes(users.at(-1)!.slice(5).trim()), 'not root');
    assert.ok(final.lines.some((l) => l.startsWith('HEALTHCHECK') && l.includes('/healthz')));
    for (const l of final.lines.filter((x) => x.startsWith('ENV'))) {
      for (const [, key] of l.matchAll(/(FTP_INGEST_[A-Z_]+)=/g)) {
        assert.ok(key! in ENV_SETTINGS || key === WORKFLOW_BUNDLE_ENV, `${key} is a known variable`);
      }
    }
  });

  test('the final stage runs the worker with its memory settings (src/worker/memory.ts)', () => {
    const env = final.lines.filter((l) => l.startsWith('ENV')).join(' ');
    for (const [key, value] of Object.entries(WORKER_ENV)) {
      assert.ok(new RegExp(`(^|\\s)${key}=${value}(\\s|$)`).test(env), `ENV ${key}=${value}`);
    }
    const entrypoint = final.lines.find((l) => l.startsWith('ENTRYPOINT'));
    const args = JSON.parse(entrypoint?.slice('ENTRYPOINT'.length) ?? '[]') as string[];
    assert.deepEqual(args.slice(1, 1 + WORKER_NODE_FLAGS.length), [...WORKER_NODE_FLAGS], 'node flags first');
  });

  test('.dockerignore keeps local state and dependencies out of the build context', () => {
    const ignored = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', '.data', '.tools', '.git']) assert.ok(ignored.includes(entry), entry);
  });
});
