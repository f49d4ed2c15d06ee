/**
 * How long the credential being replaced keeps working (a key roll, a secret rotation): the reference's
 * rotation without downtime needs a window to deploy the new one, and a leak needs none.
 */
import type { ReactNode } from 'react';

export const GRACE_OPTIONS = [
  { seconds: 0, label: 'Immediately' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '24 hours (recommended)' },
  { seconds: 7 * 86_400, label: '7 days' },
];

export const DEFAULT_GRACE_SECONDS = 86_400;

export function GracePeriod({
  legend,
  value,
  onChange,
  hint,
}: {
  legend: string;
  value: number;
  onChange: (seconds: number) => void;
  hint?: ReactNode;
}) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {GRACE_OPTIONS.map((option) => (
        <label className="radio" key={option.seconds}>
          <input
            type="radio"
            name="grace"
            value={option.seconds}
            checked={value === option.seconds}
            onChange={() => onChange(option.seconds)}
          />
          {option.label}
        </label>
      ))}
      {hint ? <p className="field-hint">{hint}</p> : null}
    </fieldset>
  );
}
