// `ledger-size`: how big each source's ledger is (records, unfinished, finished, seen, dead letters, bytes).
import type { AppConfig } from '../../config';
import type { LedgerSize } from '../../ledger';
import { selectSources, withLedger } from '../context';
import { EXIT } from '../errors';
import type { ActionResult } from './files';

export type SourceSize = LedgerSize & { source: string };

export async function sizeAction(config: AppConfig, sourceId: string | undefined): Promise<ActionResult<SourceSize[]>> {
  const sources = selectSources(config, sourceId);
  const data = await withLedger(config, (ledger) =>
    Promise.all(sources.map(async (source) => ({ source: source.id, ...(await ledger.size(source.id)) }))),
  );
  return { data, exitCode: EXIT.ok };
}
