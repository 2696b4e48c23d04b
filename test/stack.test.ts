import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Client as FtpClient } from 'basic-ftp';
import { Connection } from '@temporalio/client';
import Redis from 'ioredis';
import { testFtp, testRedis, testTemporal } from './helpers/servers';

test('the embedded stack starts real servers that answer', async () => {
  const [temporal, redis, ftp] = await Promise.all([testTemporal(), testRedis(), testFtp()]);

  const connection = await Connection.connect({ address: temporal.address });
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: temporal.namespace });
  await connection.close();
  assert.ok(customAttributes?.FtpStage, 'FtpStage is registered');

  const client = new Redis(redis.url);
  assert.equal(await client.ping(), 'PONG');
  client.disconnect();

  fs.writeFileSync(path.join(ftp.root, 'hello.txt'), 'hello');
  const ftpClient = new FtpClient();
  await ftpClient.access({ host: ftp.host, port: ftp.port, user: ftp.user, password: ftp.password });
  const names = (await ftpClient.list()).map((f) => f.name);
  ftpClient.close();
  assert.deepEqual(names, ['hello.txt']);
});
