// A Sentinel client that does not stay closed after a failover.
//
// ioredis (5.x) ends a Sentinel client for good when its failover detector hears +switch-master while the client
// is asking a sentinel where the master is (e.g. reconnecting after the master died): the pending lookup throws
// "Connection is closed.", the client's status becomes 'end' and it never reconnects, so every later command
// fails at once with that message (a worker's ledger calls fail until the worker is restarted). A client that
// ends without its owner closing it (disconnect, QUIT) is connected again here, after the usual backoff.
import Redis, { type Command, type RedisOptions } from 'ioredis';

export class SentinelRedis extends Redis {
  /** Set once the owner closes the client: it stays closed. */
  private closedByOwner = false;

  constructor(options: RedisOptions, backoff: (attempt: number) => number) {
    super(options);
    let attempts = 0;
    this.on('ready', () => {
      attempts = 0;
    });
    this.on('end', () => {
      if (this.closedByOwner) return;
      const timer = setTimeout(() => {
        if (!this.closedByOwner && this.status === 'end') this.connect().catch(() => undefined);
      }, backoff(++attempts));
      timer.unref();
    });
  }

  override disconnect(reconnect = false): void {
    if (!reconnect) this.closedByOwner = true;
    super.disconnect(reconnect);
  }

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    if (command.name === 'quit') this.closedByOwner = true;
    return super.sendCommand(command, stream);
  }
}
