/**
 * The pages of the device flow's verification URI (`/oauth/device`, RFC 8628 §3.3), in the layout and style
 * of the sign-in and consent pages (http/html-page.ts: no script, same CSP, never framed). The engine renders
 * them through its `deviceFlow` hooks (device-flow.ts); each form posts back to `/oauth/device` with the
 * engine's per-session `xsrf` token.
 *
 * The code entry form carries `confirm=yes`: the confirmation RFC 8628 §5.4 asks for (which app, on which
 * device) is our consent page, which names the app, the org and the scopes in words and repeats the code,
 * so a person is never asked twice. The separate confirmation page remains for a code that arrives in the
 * link (`verification_uri_complete`): someone who did not type it must look at it once.
 */
import { escapeHtml, htmlPage } from '../../http/html-page.ts';

export const DEVICE_PATH = '/oauth/device';

/** Why the code entry page is shown again: the engine's error, in words a person acts on. */
export function userCodeProblem(errorName: string | undefined): string | null {
  switch (errorName) {
    case undefined:
      return null;
    case 'NoCodeError':
      return 'Enter the code your device shows.';
    case 'NotFoundError':
      return 'That code is not valid. Check the code on your device and enter it again.';
    case 'ExpiredError':
      return 'That code has expired. Start again on your device to get a new one.';
    case 'AlreadyUsedError':
      return 'That code was already used. Start again on your device to get a new one.';
    case 'AbortedError':
      return 'You denied access. Your device was told; nothing was shared with it.';
    default:
      return 'The request could not be completed. Start again on your device.';
  }
}

export function userCodeInputPage(xsrf: string, problem: string | null, code?: string): string {
  const alert = problem ? `<p class="error" role="alert">${escapeHtml(problem)}</p>` : '';
  return htmlPage(
    'Connect a device',
    `  <h1>Connect a device</h1>
  <p>Enter the code shown on your device or in your terminal (for example by <code>cohera login</code>).</p>
  ${alert}
  <form method="post" action="${DEVICE_PATH}">
    <input type="hidden" name="xsrf" value="${escapeHtml(xsrf)}">
    <input type="hidden" name="confirm" value="yes">
    <label for="user_code">Code</label>
    <input id="user_code" name="user_code" type="text" required autofocus autocomplete="off"
      autocapitalize="characters" spellcheck="false" maxlength="32" placeholder="XXXX-XXXX"
      value="${escapeHtml(code ?? '')}">
    <button type="submit">Continue</button>
  </form>`,
  );
}

export function userCodeConfirmPage(view: { xsrf: string; userCode: string; clientName: string }): string {
  const hidden = `<input type="hidden" name="xsrf" value="${escapeHtml(view.xsrf)}">
    <input type="hidden" name="user_code" value="${escapeHtml(view.userCode)}">`;
  return htmlPage(
    'Connect a device',
    `  <h1>Is this your device?</h1>
  <p><strong>${escapeHtml(view.clientName)}</strong> asks to connect with this code:</p>
  <p><code id="user-code">${escapeHtml(view.userCode)}</code></p>
  <p class="muted">Continue only if your device shows exactly this code and you started the sign-in
  yourself. If someone sent you this link, cancel.</p>
  <div class="actions">
    <form method="post" action="${DEVICE_PATH}">
      ${hidden}
      <button type="submit" name="abort" value="yes" class="secondary">Cancel</button>
    </form>
    <form method="post" action="${DEVICE_PATH}">
      ${hidden}
      <button type="submit" name="confirm" value="yes">Continue</button>
    </form>
  </div>`,
  );
}

export function deviceSuccessPage(clientName: string): string {
  return htmlPage(
    'Device connected',
    `  <h1>Device connected</h1>
  <p id="device-connected"><strong>${escapeHtml(clientName)}</strong> is now signed in on your device. You can
  close this page and go back to it.</p>
  <p class="muted">You can revoke this access at any time from the dashboard.</p>`,
  );
}

export function tooManyGuessesPage(retryAfterSeconds: number): string {
  return htmlPage(
    'Too many attempts',
    `  <h1>Too many attempts</h1>
  <p class="error" role="alert">Too many codes were tried. Wait ${retryAfterSeconds} seconds, then enter the
  code again.</p>
  <p><a href="${DEVICE_PATH}">Enter a code</a></p>`,
  );
}
