/** `cohera doctor` for people: one line per item, the status first, then what was found and the fix. */
import type { DoctorCheck, DoctorReport, DoctorStatus } from './check.ts';

/** The subset of picocolors used here (disabled off a TTY and with NO_COLOR by the caller). */
export interface Colors {
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

function badge(status: DoctorStatus, color: Colors): string {
  const text = status.toUpperCase();
  if (status === 'pass') return color.green(text);
  if (status === 'warn') return color.yellow(text);
  if (status === 'fail') return color.red(text);
  return color.dim(text);
}

export function checkLine(check: DoctorCheck, color: Colors): string {
  const fix = check.fix ? ` ${color.dim('— fix:')} ${check.fix}` : '';
  return `${badge(check.status, color)}  ${check.title} ${color.dim(`[${check.id}]`)}: ${check.detail}${fix}`;
}

export function summaryLine(report: DoctorReport, color: Colors): string {
  const { pass, warn, fail, skip } = report.summary;
  const parts = [`${pass} passed`, `${warn} warned`, `${fail} failed`];
  if (skip > 0) parts.push(`${skip} skipped`);
  const text = parts.join(', ');
  return fail > 0 ? color.red(text) : warn > 0 ? color.yellow(text) : color.green(text);
}
