// Shared by the config tests: the ConfigError a call throws, and the checks of one of its issues.
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config';

/** The ConfigError thrown by `fn`. */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

/** The error's one issue at `settingPath`, asserting the message names it and mentions each of `parts`. */
export function assertIssue(err: ConfigError, settingPath: string, ...parts: string[]): void {
  const issue = err.issues.find((i) => i.path === settingPath);
  assert.ok(issue, `no issue at ${settingPath} in:\n${err.message}`);
  assert.ok(err.message.includes(`${settingPath}: `), 'the message names the setting');
  for (const part of parts) assert.ok(issue.message.includes(part), `"${part}" missing from: ${issue.message}`);
}
