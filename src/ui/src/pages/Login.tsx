/** Sign in with a barge token (barge_t_… or barge_k_…); it is kept for this tab only. */
import { useState, type FormEvent } from 'react';
import { ApiError, getJson, type Me } from '../api.js';
import { saveToken } from '../session.js';

export function Login({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const me = await getJson<Me>('/me', { token: token.trim() });
      saveToken(token.trim());
      onSignedIn(me);
    } catch (caught) {
      setError(caught instanceof ApiError && caught.status === 401 ? 'That token was not accepted.' : String(caught instanceof Error ? caught.message : caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="login" onSubmit={(event) => void submit(event)} autoComplete="off">
      <h1>barge</h1>
      <label>
        Token
        <input
          name="token"
          type="password"
          value={token}
          onChange={(event) => setToken(event.target.value)}
          placeholder="barge_t_…"
          autoFocus
          required
        />
      </label>
      <p className="muted">
        <code>barge up</code> prints an admin token; <code>barge keys create</code> makes more. It is kept in this tab only.
      </p>
      {error && <p className="error">{error}</p>}
      <button type="submit" className="primary" disabled={busy || token.trim() === ''}>
        Sign in
      </button>
    </form>
  );
}
