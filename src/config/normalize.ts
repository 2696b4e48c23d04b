// Conveniences of the file format, undone before validation so that errors point at the long form:
//   x-anything: …             top-level keys starting with "x-" are ignored: a home for YAML anchors
//   processor: checksum       → processor: { name: checksum }
//   remoteAction: delete      → remoteAction: { type: delete }
import { isRecord, type Raw } from './problems';

export function normalizeInput(raw: Raw): Raw {
  const out = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith('x-')));
  const { sources } = out;
  if (Array.isArray(sources)) out.sources = sources.map(expandSource);
  else if (isRecord(sources)) {
    out.sources = Object.fromEntries(Object.entries(sources).map(([id, s]) => [id, expandSource(s)]));
  }
  return out;
}

function expandSource(source: unknown): unknown {
  if (!isRecord(source)) return source;
  const out = { ...source };
  if (typeof out.processor === 'string') out.processor = { name: out.processor };
  if (typeof out.remoteAction === 'string') out.remoteAction = { type: out.remoteAction };
  return out;
}
