/**
 * The patch level of this release, carried by every plan (FilePlan.patchLevel) and poll input it makes: a run whose
 * plan or input has it takes each patch the level covers (src/workflows/patches.ts) without recording its marker. A
 * marker costs every run two history events, one of them a visibility write (the SDK's TemporalChangeVersion
 * upsert): about a tenth of a small file's throughput on the dev server (docs/PERFORMANCE.md). Plans made by releases before it have no
 * level, and their runs decide each patch by its marker, as before.
 */
export const PATCH_LEVEL = 1;

/** The input of a poll of the source, as its Schedule and the CLI's `poll` start it. */
export function pollInputOf(sourceId: string): { sourceId: string; patchLevel: number } {
  return { sourceId, patchLevel: PATCH_LEVEL };
}
