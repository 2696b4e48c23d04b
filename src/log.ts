import pino from 'pino';

/** The process logger: JSON lines on stderr (stdout is for command results). Level from FTP_INGEST_LOG_LEVEL. */
export const log = pino(
  { name: 'ftp-ingest', level: process.env.FTP_INGEST_LOG_LEVEL ?? 'info' },
  pino.destination({ fd: 2, sync: true }),
);
