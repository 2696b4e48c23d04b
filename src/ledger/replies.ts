// The replies of the ledger's Lua scripts, decoded in one place: each script's JSON reply is checked against its
// shape here, so a script and its caller cannot drift apart silently (a changed field fails loudly, at once).
import { z } from 'zod';
import type { ScriptName } from './scripts';

/** Why a script refused: the one list of reply codes of every script. */
export const REFUSALS = [
  'missing',
  'superseded',
  'not-in-progress',
  'crash-loop',
  'not-rejected',
  'not-finished',
] as const;
export type Refusal = (typeof REFUSALS)[number];

/** A file hash as the scripts send it back (HGETALL values: strings). */
const rawRecord = z.record(z.string(), z.union([z.string(), z.number()]).transform(String));

// cjson encodes an empty Lua table as {}, never [].
const list = <T extends z.ZodType>(item: T) =>
  z.union([z.array(item), z.strictObject({})]).transform((v): z.output<T>[] => (Array.isArray(v) ? v : []));

const refused = z.object({
  ok: z.literal(false),
  reason: z.enum(REFUSALS),
  record: rawRecord.optional(),
  crashes: z.number().optional(),
});

const done = z.object({ ok: z.boolean() });

const safeInteger = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

// A first poll claims thousands: its numbers are checked by one loop, not a schema per element.
const detailList = z
  .custom<number[] | Record<string, never>>(
    (v) =>
      (Array.isArray(v) && v.every((n) => Number.isSafeInteger(n))) ||
      (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0),
    { message: 'expected a flat list of integers' },
  )
  .transform((v): number[] => (Array.isArray(v) ? v : []));

const replies = {
  // What each candidate became (claim.lua says the format; Ledger.claimBatch reads it).
  claim: z.object({
    marks: z.string().regex(/^[.nrs]*$/),
    first: safeInteger.optional(),
    lease: safeInteger,
    detail: detailList,
    skipped: z
      .union([z.record(z.string(), z.number()), z.array(z.never())])
      .transform((v) => (Array.isArray(v) ? {} : v)),
    rejected: list(
      z.object({ path: z.string(), version: z.string(), tries: z.number(), error: z.string().optional() }),
    ),
    decisions: list(
      z.object({ path: z.string(), decision: z.enum(['claim', 'skip', 'reject']), reason: z.string() }),
    ).optional(),
  }),
  renew: z.union([z.object({ ok: z.literal(true), leaseUntil: z.number() }), refused]),
  beginRun: z.union([z.object({ ok: z.literal(true), leaseUntil: z.number(), crashes: z.number() }), refused]),
  endRun: done,
  commit: z.union([z.object({ ok: z.literal(true), alreadyCommitted: z.boolean(), record: rawRecord }), refused]),
  release: z.union([
    z.object({ ok: z.literal(true), status: z.enum(['RETRY_WAIT', 'REJECTED']), record: rawRecord }),
    refused,
  ]),
  reject: z.union([
    z.object({ ok: z.literal(true), status: z.enum(['RETRY_WAIT', 'REJECTED']), record: rawRecord }),
    refused,
  ]),
  rejectUnsafe: z.object({ recorded: z.boolean(), record: rawRecord }),
  retryRejected: z.union([z.object({ ok: z.literal(true), record: rawRecord }), refused]),
  reprocess: z.union([z.object({ ok: z.literal(true), record: rawRecord }), refused]),
  renewRunning: z.number(),
  observe: list(z.string()),
  due: list(z.string()),
  vanish: z.object({ vanished: list(z.string()), waiting: z.number() }),
  takeAction: done,
  actionDone: done,
  finished: list(z.string()),
  forget: z.number(),
} satisfies Record<ScriptName, z.ZodType>;

export type Reply<N extends ScriptName> = z.output<(typeof replies)[N]>;
export type Refused = z.output<typeof refused>;

/** The reply of script `name`, checked; a reply of another shape is a bug in a script, reported as such. */
export function decodeReply<N extends ScriptName>(name: N, json: string): Reply<N> {
  const decoded = replies[name].safeParse(JSON.parse(json));
  if (!decoded.success) {
    throw new Error(`ledger script ${name} replied in an unexpected shape: ${z.prettifyError(decoded.error)}`);
  }
  return decoded.data as Reply<N>;
}
