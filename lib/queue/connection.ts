/**
 * Where the queue lives: a Redis URL (`redis://HOST:PORT[/DB]`, `rediss://` for
 * TLS, optional `user:password@`) parsed into the connection options BullMQ
 * takes, and a reachability check that turns "nothing listens there" into one
 * error naming the URL instead of a hang.
 *
 * Why a check of our own: ioredis reconnects forever by default, so a mistyped
 * host would leave `predict --queue` or `worker` waiting silently. We ping once
 * with a short timeout and no retries before handing the options to BullMQ,
 * which then reconnects as usual (a Redis restart mid-run is survived).
 */
import type { RedisOptions } from 'bullmq';
import IORedis from 'ioredis';

/** Redis URL parts; `display` is the URL without the password, for messages. */
export interface QueueUrl {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  display: string;
}

/**
 * Parses a queue URL. `source` names where it came from ("--queue",
 * "[distill] queue in config.ini line 12") and appears in every error.
 */
export function parseQueueUrl(raw: string, source: string): QueueUrl {
  const expected = `Expected a Redis URL like redis://HOST:PORT for ${source} but received ${JSON.stringify(raw)}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(expected);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`${expected} (the scheme must be redis:// or rediss://)`);
  if (url.hostname === '') throw new Error(`${expected} (no host)`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw new Error(`${expected} (the path must be a database number, e.g. /0)`);
  if (url.search !== '' || url.hash !== '') throw new Error(`${expected} (no query or fragment is taken)`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  const tls = url.protocol === 'rediss:';
  const display = `${url.protocol}//${url.hostname}:${port}${dbText === '' ? '' : `/${dbText}`}`;
  return {
    host,
    port,
    db: dbText === '' ? 0 : Number(dbText),
    ...(url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password !== '' ? { password: decodeURIComponent(url.password) } : {}),
    tls,
    display,
  };
}

/**
 * ioredis options for BullMQ: maxRetriesPerRequest null (BullMQ's workers need
 * commands to wait through a reconnect rather than fail) and a capped backoff.
 */
export function redisOptions(q: QueueUrl): RedisOptions {
  return {
    host: q.host,
    port: q.port,
    db: q.db,
    ...(q.username !== undefined ? { username: q.username } : {}),
    ...(q.password !== undefined ? { password: q.password } : {}),
    ...(q.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
}

/** Pings Redis once (no retries); rejects with an error naming the URL when it cannot. */
export async function checkReachable(q: QueueUrl, timeoutMs = 5000): Promise<void> {
  const client = new IORedis({
    ...redisOptions(q),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // Without a listener ioredis prints each connection error itself.
  let lastError: Error | null = null;
  client.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') throw new Error(`answered ${JSON.stringify(pong)} to PING`);
  } catch (err) {
    const reason = (err as Error).message || String(lastError ?? err);
    throw new Error(`cannot reach the queue's Redis at ${q.display}: ${reason} (is redis-server running there?)`);
  } finally {
    client.disconnect();
  }
}
