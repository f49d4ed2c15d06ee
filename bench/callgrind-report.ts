/**
 * Reads a dump of `npm run bench:instructions` by function, with V8's compiled JavaScript named: callgrind
 * sees machine code V8 wrote at run time only as addresses, and `callgrind_annotate` prints them as `0x…`.
 * Run the bench with `BENCH_INSTR_NODE_FLAGS=--perf-basic-prof`: each server then writes
 * `/tmp/perf-<pid>.map` (start, size and name of every piece of code V8 made), which this reads.
 *
 *   node bench/callgrind-report.ts <dump> [--per N] [--top N] [--callers REGEX] [--callees REGEX]
 *
 * - `<dump>`: a file of bench/results/callgrind/<run>/, e.g. `embedded.<pid>.out.4-01` (dump 4 is the third
 *   round; thread 01 the main thread, where requests are served). The pid in its name finds the map.
 * - By default: instructions by function, self cost (what the function's own code executed), divided by
 *   `--per` (the requests of a round: 2000 by default), the `--top` largest (60).
 * - `--callers REGEX`: for the functions whose name matches, each caller and the inclusive cost of its calls
 *   to them; `--callees REGEX`: for matching functions, what they call and its inclusive cost. Inclusive
 *   costs through V8's builtins are approximate (a builtin that calls back into JavaScript is counted as
 *   the caller of that code); self costs are exact.
 *
 * A code address can be reused after V8 frees code: the newest name mapped at an address wins.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    per: { type: 'string', default: '2000' },
    top: { type: 'string', default: '60' },
    callers: { type: 'string' },
    callees: { type: 'string' },
    map: { type: 'string' },
  },
});
const dump = positionals[0];
if (!dump) {
  process.stderr.write(
    'usage: node bench/callgrind-report.ts <dump> [--per N] [--top N] [--callers RE] [--callees RE]\n',
  );
  process.exit(2);
}
const per = Number(values.per);
const top = Number(values.top);
const pid = /\.(\d+)\.out/.exec(basename(dump))?.[1];
const mapPath = values.map ?? (pid ? `/tmp/perf-${pid}.map` : undefined);

/** V8's code map: sorted starts, and for each its end and name (the newest at a reused start). */
function loadMap(path: string | undefined): { starts: number[]; ends: number[]; names: string[] } {
  const byStart = new Map<number, [number, string]>();
  if (path) {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      process.stderr.write(`no ${path}: JIT code stays unnamed (run the bench with --perf-basic-prof)\n`);
    }
    for (const line of text.split('\n')) {
      const first = line.indexOf(' ');
      const second = line.indexOf(' ', first + 1);
      if (first < 0 || second < 0) continue;
      const start = Number.parseInt(line.slice(0, first), 16);
      const size = Number.parseInt(line.slice(first + 1, second), 16);
      if (Number.isFinite(start) && Number.isFinite(size))
        byStart.set(start, [start + size, line.slice(second + 1)]);
    }
  }
  const starts = [...byStart.keys()].sort((a, b) => a - b);
  return {
    starts,
    ends: starts.map((s) => (byStart.get(s) as [number, string])[0]),
    names: starts.map((s) => (byStart.get(s) as [number, string])[1]),
  };
}

const codeMap = loadMap(mapPath);

/** A callgrind function name, with a JIT address replaced by V8's name for the code there. */
function symbol(name: string): string {
  const match = /^0x([0-9a-f]+)/.exec(name);
  if (!match) return name;
  const address = Number.parseInt(match[1] as string, 16);
  let lo = 0;
  let hi = codeMap.starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((codeMap.starts[mid] as number) <= address) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (found >= 0 && address < (codeMap.ends[found] as number)) return `JIT ${codeMap.names[found]}`;
  return name;
}

// The dump format (callgrind's, with name compression): `fn=(id) name` opens a function's lines, `cfn=` names
// a callee, `calls=` precedes the line whose second number is the call's inclusive cost; other cost lines
// are `<position> <Ir>` of the current function's own code.
const self = new Map<string, number>();
const calls = new Map<string, number>(); // "caller\u0000callee" → inclusive
const compressed = new Map<string, string>();
function named(field: string): string {
  const match = /^\((\d+)\)(?: (.*))?$/.exec(field);
  if (!match) return symbol(field);
  if (match[2] !== undefined) compressed.set(match[1] as string, symbol(match[2]));
  return compressed.get(match[1] as string) ?? '?';
}
let fn = '?';
let cfn = '?';
let callLine = false;
for (const line of readFileSync(dump, 'utf8').split('\n')) {
  if (line.startsWith('fn=')) {
    fn = named(line.slice(3));
  } else if (line.startsWith('cfn=')) {
    cfn = named(line.slice(4));
  } else if (line.startsWith('calls=')) {
    callLine = true;
  } else if (/^[+\-*0-9]/.test(line)) {
    const cost = Number(line.split(' ')[1] ?? 0);
    if (callLine) {
      const key = `${fn}\u0000${cfn}`;
      calls.set(key, (calls.get(key) ?? 0) + cost);
      callLine = false;
    } else {
      self.set(fn, (self.get(fn) ?? 0) + cost);
    }
  } else if (line.includes('=')) {
    callLine = false;
  }
}

function print(rows: Array<[string, number]>): void {
  for (const [name, cost] of rows.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(
      `${Math.round(cost / per)
        .toLocaleString('en')
        .padStart(10)}  ${name}\n`,
    );
  }
}

if (values.callers || values.callees) {
  const pattern = new RegExp((values.callers ?? values.callees) as string);
  const rows: Array<[string, number]> = [];
  for (const [key, cost] of calls) {
    const [caller, callee] = key.split('\u0000') as [string, string];
    if (values.callers ? pattern.test(callee) : pattern.test(caller))
      rows.push([`${caller}  →  ${callee}`, cost]);
  }
  print(rows);
} else {
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(
    `${Math.round(total / per)
      .toLocaleString('en')
      .padStart(10)}  (all, per request)\n`,
  );
  print([...self]);
}
