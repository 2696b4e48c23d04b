#!/usr/bin/env node
// Entry point of the `ftp-ingest` command: runs the TypeScript sources through tsx, no build step needed.
'use strict';
require('tsx/cjs');
require('../src/starter/cli.ts');
