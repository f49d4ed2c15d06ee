/**
 * Daily requests as stacked bars (successful, errors, rate-limited), with gridlines on round numbers and a
 * legend. For screen readers the figure is one described image, and the numbers are in a table below it.
 */
import type { UsageDay } from '../api/types.ts';
import { bars, totals } from '../lib/chart.ts';
import { formatCount } from '../lib/format.ts';

const WIDTH = 720;
const HEIGHT = 180;
const LEFT = 44;
/** Room above the plot for the top gridline's label, and below it for the dates. */
const TOP = 10;
const BOTTOM = 22;

const LABELS = { ok: 'Successful', errors: 'Errors', rate_limited: 'Rate-limited' } as const;

export function UsageChart({ days, title }: { days: UsageDay[]; title: string }) {
  const plotWidth = WIDTH - LEFT;
  const { bars: drawn, max } = bars(days, plotWidth, HEIGHT);
  const sum = totals(days);
  const summary = `${title}: ${formatCount(sum.requests)} requests over ${days.length} days, ${formatCount(
    sum.errors,
  )} errors, ${formatCount(sum.rate_limited)} rate-limited.`;
  // Counts are whole numbers: a half-way gridline only when it falls on one.
  const ticks = Number.isInteger(max / 2) ? [0, max / 2, max] : [0, max];
  const labelEvery = Math.max(1, Math.ceil(days.length / 6));
  // Labels count back from the newest day, so today's bar (the one people look for) always has one.
  const today = new Date().toISOString().slice(0, 10);
  const labelled = (index: number) => (drawn.length - 1 - index) % labelEvery === 0;
  return (
    <figure className="chart">
      <figcaption>
        <strong>{title}</strong>{' '}
        <span className="muted">
          {formatCount(sum.requests)} requests · {formatCount(sum.errors)} errors ·{' '}
          {formatCount(sum.rate_limited)} rate-limited
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${TOP + HEIGHT + BOTTOM}`} role="img" aria-label={summary}>
        {ticks.map((tick) => {
          const y = TOP + HEIGHT - (tick / max) * HEIGHT;
          return (
            <g key={tick}>
              <line x1={LEFT} x2={WIDTH} y1={y} y2={y} className="grid" />
              <text x={LEFT - 6} y={y + 4} textAnchor="end" className="axis">
                {formatCount(tick)}
              </text>
            </g>
          );
        })}
        <g transform={`translate(${LEFT} ${TOP})`}>
          {drawn.map((bar, index) => (
            <g key={bar.date}>
              <title>{`${bar.date}: ${formatCount(bar.total)} requests`}</title>
              {bar.segments.map((segment) => (
                <rect
                  key={segment.kind}
                  x={bar.x}
                  y={segment.y}
                  width={bar.width}
                  height={segment.height}
                  className={`bar bar-${segment.kind}`}
                />
              ))}
              {labelled(index) ? (
                <text
                  // The newest bar is at the right edge: a narrow one's label ends there instead of overflowing.
                  x={index === drawn.length - 1 && bar.width < 40 ? bar.x + bar.width : bar.x + bar.width / 2}
                  y={HEIGHT + 16}
                  textAnchor={index === drawn.length - 1 && bar.width < 40 ? 'end' : 'middle'}
                  className="axis"
                >
                  {bar.date === today ? 'today' : bar.date.slice(5)}
                </text>
              ) : null}
            </g>
          ))}
        </g>
      </svg>
      <ul className="legend" aria-hidden="true">
        {(Object.keys(LABELS) as (keyof typeof LABELS)[]).map((kind) => (
          <li key={kind}>
            <span className={`swatch bar-${kind}`} /> {LABELS[kind]}
          </li>
        ))}
      </ul>
      <details>
        <summary>Show the numbers</summary>
        <table className="table compact">
          <caption className="visually-hidden">{title}, by day, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Requests</th>
              <th scope="col">Errors</th>
              <th scope="col">Rate-limited</th>
            </tr>
          </thead>
          <tbody>
            {/* Newest first, as every other list of the dashboard (the chart reads left to right). */}
            {[...days].reverse().map((day) => (
              <tr key={day.date}>
                <th scope="row">{day.date}</th>
                <td>{formatCount(day.requests)}</td>
                <td>{formatCount(day.errors)}</td>
                <td>{formatCount(day.rate_limited)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
