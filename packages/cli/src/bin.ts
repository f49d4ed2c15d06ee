/**
 * The `cohera` command (DESIGN §9, §9.1): parses with commander (program.ts) and sets the exit status.
 * bin/cohera.js comes here for everything but the `scan` fast path.
 */
import { run } from './program.ts';

const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
// `cohera server` keeps running on its open handles; everything else ends when its work is done.
process.exitCode = code;
