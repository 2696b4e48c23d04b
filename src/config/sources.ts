import type { AppConfig, SourceConfig } from './types';

export class UnknownSourceError extends Error {
  override readonly name = 'UnknownSourceError';
}

/** The source with this id; the error lists the known ids. */
export function getSource(config: AppConfig, sourceId: string): SourceConfig {
  const source = config.sources.find((s) => s.id === sourceId);
  if (source) return source;
  const known = config.sources.map((s) => s.id).join(', ');
  throw new UnknownSourceError(`unknown source ${JSON.stringify(sourceId)}; configured sources: ${known}`);
}
