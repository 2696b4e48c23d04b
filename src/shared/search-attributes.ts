import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Source id of the file (or poll) workflow: filter the Web UI with `FtpSource = "orders"`. */
export const FTP_SOURCE = defineSearchAttributeKey('FtpSource', SearchAttributeType.KEYWORD);
/** Remote path of the file. */
export const FTP_PATH = defineSearchAttributeKey('FtpPath', SearchAttributeType.KEYWORD);
/** Stage the file workflow is in: download, process, publish, commit, remote-action, done, released, rejected, superseded. */
export const FTP_STAGE = defineSearchAttributeKey('FtpStage', SearchAttributeType.KEYWORD);

/** `poll` or `file`: tells the two kinds apart in the Web UI (`FtpKind = "file" AND FtpSource = "orders"`). */
export const FTP_KIND = defineSearchAttributeKey('FtpKind', SearchAttributeType.KEYWORD);

/**
 * Set by the Temporal server (1.28 and later) on a workflow whose workflow tasks keep failing or timing out (a bad
 * deploy, a non-determinism error), cleared when one succeeds: the Web UI's task failures view filters on it.
 */
export const TEMPORAL_REPORTED_PROBLEMS = defineSearchAttributeKey(
  'TemporalReportedProblems',
  SearchAttributeType.KEYWORD_LIST,
);

/** Names and types to register on a namespace before any workflow upserts them. */
export const SEARCH_ATTRIBUTE_TYPES = {
  FtpSource: 'Keyword',
  FtpPath: 'Keyword',
  FtpStage: 'Keyword',
  FtpKind: 'Keyword',
} as const;
