import type { Command } from 'commander';
import { inspectAction, type FileStory } from '../actions/inspect';
import { configFrom, type GlobalOptions } from '../context';
import { formatBytes, formatTime, printable, printJson, printLines, relative, table } from '../output';
import { recordJson } from '../views';

function story(s: FileStory): string[] {
  const lines = [`${s.source}:${printable(s.path)}`];
  const r = s.record;
  if (r) {
    const now = Date.now();
    const field = (name: string, value: string | undefined): void => {
      if (value !== undefined && value !== '') lines.push(`  ${name.padEnd(11)} ${value}`);
    };
    field('status', r.status);
    field('version', `${r.version} (modified ${formatTime(r.mtimeMs)}, ${formatBytes(r.size)})`);
    field('tries', `${r.tries} (attempt ${r.attempt ?? '-'})`);
    field('owner', r.owner);
    field('token', r.token === undefined ? undefined : String(r.token));
    field('claimed by', r.pollRun);
    field('last try', r.lastTryAt ? `${formatTime(r.lastTryAt)} (${relative(r.lastTryAt, now)})` : undefined);
    if (r.status === 'IN_PROGRESS')
      field('lease', r.leaseUntil ? `until ${formatTime(r.leaseUntil)} (${relative(r.leaseUntil, now)})` : undefined);
    // Runs of a step begun since it last ended: all but a running one died with their worker (maxCrashes).
    if (s.runs && s.runs.download + s.runs.process > 0)
      field('runs', `download ${s.runs.download}, process ${s.runs.process} begun since the step last ended`);
    if (r.status === 'RETRY_WAIT')
      field('retry at', r.retryAt ? `${formatTime(r.retryAt)} (${relative(r.retryAt, now)})` : undefined);
    field('done at', r.doneAt ? formatTime(r.doneAt) : undefined);
    field('rejected at', r.rejectedAt ? formatTime(r.rejectedAt) : undefined);
    field('workflow', r.workflowId);
    field('result', r.result);
    field('error', r.error === undefined ? undefined : printable(r.error));
  } else {
    lines.push('  no ledger record');
  }
  lines.push(`  next        ${s.next}`);
  lines.push('', 'workflows:');
  if (s.temporalError) lines.push(`  unavailable: ${s.temporalError}`);
  else if (s.workflows.length === 0) lines.push('  none');
  else {
    const rows = s.workflows.map((w) => [
      w.workflowId,
      w.status,
      w.stage ?? '-',
      formatTime(Date.parse(w.startTime ?? '')),
      w.closeTime ? formatTime(Date.parse(w.closeTime)) : '-',
    ]);
    lines.push(...table(['WORKFLOW', 'STATUS', 'STAGE', 'STARTED', 'CLOSED'], rows).map((l) => `  ${l}`));
    for (const w of s.workflows) {
      lines.push(`  ${w.url}`);
      for (const p of w.pending ?? [])
        lines.push(
          `    pending ${p.activity}: ${p.state}, attempt ${p.attempt}${p.lastFailure ? `, last failure: ${printable(p.lastFailure)}` : ''}`,
        );
    }
  }
  lines.push('', 'dead letters:');
  if (s.deadLetters.length === 0) lines.push('  none');
  else {
    const rows = s.deadLetters.map((d) => [
      formatTime(Date.parse(d.at)),
      d.version,
      String(d.tries),
      d.owner,
      printable(d.error),
    ]);
    lines.push(...table(['AT', 'VERSION', 'TRIES', 'OWNER', 'ERROR'], rows).map((l) => `  ${l}`));
  }
  return lines;
}

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description(
      "one file's story: ledger row, workflows (status, stage, Web UI link), dead letters, what happens next",
    )
    .argument('<source>', 'source id')
    .argument('<path>', 'remote path relative to the source dir, as `files` shows it')
    .option('--json', 'one JSON document')
    .action(async (sourceId: string, path: string, options: { json?: boolean }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const { data, exitCode } = await inspectAction(config, sourceId, path);
      if (options.json) printJson({ ...data, record: data.record ? recordJson(data.record) : undefined });
      else printLines(story(data));
      if (data.temporalError) process.stderr.write(`ftp-ingest: ${data.temporalError}\n`);
      process.exitCode = exitCode;
    });
}
