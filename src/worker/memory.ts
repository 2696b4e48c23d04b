// The memory settings of a worker process, chosen by measurement (docs/PERFORMANCE.md, "Memory"). Node sizes
// each V8 heap for a large machine: 16 MiB semi-spaces (32 MiB of young generation per isolate, committed as soon
// as it is used) and, with the default old-space limit, a heap allowed to grow to about 4× its live size before a
// full collection. A worker has two isolates (the main one, and the SDK's workflow thread) whose live data is
// 20–50 MiB each, so most of that is garbage waiting. glibc gives each thread that allocates its own 64 MiB arena
// (the SDK's Rust threads, libuv's pool): two arenas are enough for a worker and keep the native heap compact.
// glibc also raises its mmap threshold (up to 32 MiB) each time a large block is freed, after which such blocks
// come from the arenas, and a small block kept beside them holds their pages after they are freed: a worker's
// RSS crept 40–50 MiB above its live data that way. A fixed threshold (glibc's own default, 128 KiB) gives every
// large block its own mapping, returned when it is freed.
import v8 from 'node:v8';

/**
 * Node flags for a worker process. An old-space limit of 256 MiB keeps V8's heap growing factor small (it scales
 * with the limit) while leaving several times the live heap for a large listing.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--max-old-space-size=256'];

/** Environment of a worker process (read by glibc at start-up). */
export const WORKER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };

/**
 * A worker started without WORKER_NODE_FLAGS (by hand, say) still gets them for the isolate of its workflow
 * thread, which is created after this call: V8 reads heap flags when it creates an isolate. Flags given on the
 * command line or in NODE_OPTIONS win.
 */
export function applyWorkerFlagsToNewIsolates(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  for (const flag of WORKER_NODE_FLAGS) {
    const name = flag.split('=')[0]!;
    if (!given.some((arg) => arg.split('=')[0]!.replace(/_/g, '-') === name)) v8.setFlagsFromString(flag);
  }
}
