/** Where a rate-limit window stands: a meter of what is used against the tier's limit, and when it resets. */
import type { WindowStanding } from '../api/types.ts';
import { formatCount, resetsIn } from '../lib/format.ts';

export function RateMeter({ label, window }: { label: string; window: WindowStanding }) {
  const used = Math.max(0, window.limit - window.remaining);
  const id = `meter-${label.toLowerCase().replace(/\W+/g, '-')}`;
  return (
    <div className="meter">
      <label htmlFor={id}>
        <strong>{label}</strong>{' '}
        <span className="muted">
          {formatCount(used)} of {formatCount(window.limit)} used · {formatCount(window.remaining)} left ·
          resets in {resetsIn(window.reset)}
        </span>
      </label>
      <meter
        id={id}
        min={0}
        max={window.limit}
        low={window.limit * 0.7}
        high={window.limit * 0.9}
        optimum={0}
        value={used}
      >
        {formatCount(used)} of {formatCount(window.limit)}
      </meter>
    </div>
  );
}
