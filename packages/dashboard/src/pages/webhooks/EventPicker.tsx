/**
 * The events an endpoint subscribes to: "All events" (`*`, which also covers types added later), or types
 * one by one from the server's catalogue, grouped by resource with a checkbox for the whole group. While
 * "All events" is on, every type shows checked and locked, as the scope picker shows implied scopes.
 */
import { useId } from 'react';
import {
  ALL_EVENTS,
  groupEventTypes,
  subscribes,
  toggleAllEvents,
  toggleEvents,
} from '../../lib/webhooks.ts';

const GROUPS = groupEventTypes();

export function EventPicker({
  value,
  onChange,
  problem,
}: {
  value: string[];
  onChange: (events: string[]) => void;
  /** Shown under the legend (e.g. "Choose at least one event") and announced with the fieldset. */
  problem?: string | null;
}) {
  const problemId = useId();
  const all = value.includes(ALL_EVENTS);
  return (
    <fieldset className="event-picker" aria-describedby={problem ? problemId : undefined}>
      <legend>Events</legend>
      <label className="check event-all">
        <input
          type="checkbox"
          name="events"
          value={ALL_EVENTS}
          checked={all}
          onChange={(event) => onChange(toggleAllEvents(event.currentTarget.checked))}
        />
        All events <span className="muted small">(including types added later)</span>
      </label>
      {problem ? (
        <p id={problemId} className="field-error">
          {problem}
        </p>
      ) : null}
      <div className="event-groups">
        {GROUPS.map((group) => {
          const types = group.events.map((event) => event.type);
          const whole = types.every((type) => subscribes(value, type));
          return (
            <fieldset key={group.label} className="event-group">
              <legend>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={whole}
                    disabled={all}
                    aria-label={`${group.label}: every event`}
                    onChange={(event) => onChange(toggleEvents(value, types, event.currentTarget.checked))}
                  />
                  {group.label}
                </label>
              </legend>
              {group.events.map((event) => (
                <label className="check event-type" key={event.type} title={event.description}>
                  <input
                    type="checkbox"
                    name="events"
                    value={event.type}
                    checked={subscribes(value, event.type)}
                    disabled={all}
                    onChange={(change) =>
                      onChange(toggleEvents(value, [event.type], change.currentTarget.checked))
                    }
                  />
                  <span>
                    <code>{event.type}</code>
                    <span className="muted small event-words">{event.description}</span>
                  </span>
                </label>
              ))}
            </fieldset>
          );
        })}
      </div>
      <p className="field-hint">
        A test event (<code>webhook.test</code>) reaches the endpoint whatever it subscribes to.
      </p>
    </fieldset>
  );
}
