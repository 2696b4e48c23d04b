import type { Command } from 'commander';
import { STATUSES, type Ledger, type LedgerRecord, type Status } from '../../ledger';
import { configFrom, printJson, selectSources, withLedger, type GlobalOptions } from '../context';

interface StatusOptions {
  source?: string;
  json?: boolean;
  status?: Status;
  limit: string;
}

/** Up to `limit` records of a source (optionally of one status), sorted by path. */
export async function ledgerRows(
  ledger: Ledger,
  sourceId: string,
  status: Status | undefined,
  limit: number,
): Promise<LedgerRecord[]> {
  const rows: LedgerRecord[] = [];
  let cursor = '0';
  do {
    const page = await ledger.list(sourceId, { cursor, status, count: 500 });
    rows.push(...page.records);
    cursor = page.cursor;
  } while (cursor !== '0' && rows.length < limit);
  return rows.sort((a, b) => a.path.localeCompare(b.path)).slice(0, limit);
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('ledger counts by status per source, and per-file rows')
    .option('-s, --source <id>', 'only this source')
    .option('--status <status>', `only files of this status (${STATUSES.join(', ')})`)
    .option('-n, --limit <n>', 'file rows per source', '50')
    .option('--json', 'one JSON object per source')
    .action(async (options: StatusOptions) => {
      const config = configFrom(program.opts<GlobalOptions>());
      if (options.status !== undefined && !STATUSES.includes(options.status)) {
        throw new Error(`--status must be one of ${STATUSES.join(', ')}, got ${options.status}`);
      }
      await withLedger(config, async (ledger) => {
        for (const source of selectSources(config, options.source)) {
          const counts = await ledger.counts(source.id);
          const files = await ledgerRows(ledger, source.id, options.status, Number(options.limit));
          if (options.json) printJson({ source: source.id, counts, files });
          else printTable(source.id, counts, files);
        }
      });
    });
}

function printTable(sourceId: string, counts: Record<Status, number>, files: LedgerRecord[]): void {
  const summary = STATUSES.map((s) => `${s}=${counts[s]}`).join(' ');
  const lines = [`source ${sourceId}: ${summary}`];
  for (const f of files) {
    const error = f.error ? `  ${f.error.slice(0, 80)}` : '';
    lines.push(
      `  ${f.status.padEnd(11)} tries=${f.tries} owner=${f.owner ?? '-'} ${JSON.stringify(f.path)} @${f.version}${error}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
