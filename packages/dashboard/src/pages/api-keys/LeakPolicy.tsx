/**
 * The organization's leak policy (`policy.leaked_key_action`, DESIGN §5.6), for owners and admins: what
 * happens when GitHub secret scanning or anyone else reports one of the organization's keys. The dashboard
 * has no separate organization settings page, so it sits with the keys it governs.
 */
import { useId, useState } from 'react';
import { api } from '../../api/client.ts';
import type { Organization } from '../../api/types.ts';
import { ErrorNotice } from '../../components/Notice.tsx';
import { useSubmit } from '../../hooks.ts';

type Action = Organization['policy']['leaked_key_action'];

export function LeakPolicy({ org, onSaved }: { org: Organization; onSaved: () => void }) {
  const current = org.policy.leaked_key_action;
  const [choice, setChoice] = useState<Action>(current);
  const { busy, error, run } = useSubmit();
  const id = useId();

  return (
    <form
      className="panel leak-policy"
      aria-labelledby={`${id}-title`}
      onSubmit={async (event) => {
        event.preventDefault();
        await run(async () => {
          await api('PATCH', '/v1/organization', { body: { policy: { leaked_key_action: choice } } });
          onSaved();
        });
      }}
    >
      <h2 id={`${id}-title`} className="small">
        When a key leaks
      </h2>
      <p className="muted small">
        GitHub secret scanning and anyone who finds a key can report it. The report is recorded in the audit
        log and sent as the <code>api_key.leaked</code> webhook either way.
      </p>
      <label htmlFor={`${id}-action`}>Leaked keys are</label>
      <div className="inline-field">
        <select
          id={`${id}-action`}
          name="leaked_key_action"
          value={choice}
          onChange={(event) => setChoice(event.target.value as Action)}
        >
          <option value="revoke">revoked at once (recommended)</option>
          <option value="notify">flagged only: they keep working until you act</option>
        </select>
        <button type="submit" disabled={busy || choice === current}>
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
      {error ? <ErrorNotice error={error} /> : null}
    </form>
  );
}
