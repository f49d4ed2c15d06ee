/**
 * Scopes as checkboxes, grouped by resource with read and write, then the wildcards and admin, and a
 * least-privilege hint that reacts to the choice. Implied scopes show as checked and locked (write
 * includes read; admin includes everything), and the value is always the smallest equivalent set.
 */
import type { Scope } from '../api/types.ts';
import { grants, leastPrivilegeHint, RESOURCES, SCOPE_WORDS, toggle } from '../lib/scopes.ts';

export function ScopePicker({
  value,
  onChange,
  allowAdmin = true,
  legend = 'Scopes',
}: {
  value: Scope[];
  onChange: (scopes: Scope[]) => void;
  allowAdmin?: boolean;
  legend?: string;
}) {
  const hint = leastPrivilegeHint(value);
  const box = (scope: Scope, label: string) => {
    const explicit = value.includes(scope);
    const implied = !explicit && grants(value, scope);
    return (
      <label className="check" title={SCOPE_WORDS[scope]}>
        <input
          type="checkbox"
          name="scopes"
          value={scope}
          checked={explicit || implied}
          disabled={implied}
          onChange={(event) => onChange(toggle(value, scope, event.currentTarget.checked))}
        />
        {label}
        {implied ? <span className="visually-hidden"> (included)</span> : null}
      </label>
    );
  };
  return (
    <fieldset className="scopes">
      <legend>{legend}</legend>
      <table className="scope-grid">
        <thead>
          <tr>
            <th scope="col">Resource</th>
            <th scope="col">Read</th>
            <th scope="col">Write</th>
          </tr>
        </thead>
        <tbody>
          {RESOURCES.map((resource) => (
            <tr key={resource.id}>
              <th scope="row">{resource.label}</th>
              <td>{box(`read:${resource.id}` as Scope, `read:${resource.id}`)}</td>
              <td>{box(`write:${resource.id}` as Scope, `write:${resource.id}`)}</td>
            </tr>
          ))}
          <tr>
            <th scope="row">All resources</th>
            <td>{box('read:*', 'read:*')}</td>
            <td>{box('write:*', 'write:*')}</td>
          </tr>
        </tbody>
      </table>
      {allowAdmin ? <div className="admin-scope">{box('admin', 'admin: full access')}</div> : null}
      <p className={hint.level === 'warn' ? 'hint hint-warn' : 'hint'} aria-live="polite">
        {hint.text}
      </p>
    </fieldset>
  );
}
