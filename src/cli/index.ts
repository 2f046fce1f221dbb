#!/usr/bin/env node
// The `mailmon` executable: the only place that touches process.argv/env/stdio for the CLI.
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
