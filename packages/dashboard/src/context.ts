/** What every page may read: the signed-in session (user, org, role) and the live/test mode. */
import { createContext, useContext } from 'react';
import type { Mode, Role, Session } from './api/types.ts';

export interface AppState {
  session: Session;
  mode: Mode;
  setMode: (mode: Mode) => void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (!state) throw new Error('useApp outside <AppContext.Provider>');
  return state;
}

/** Owners and admins manage keys, apps and service accounts; members see their own authorized apps. */
export function canManage(role: Role): boolean {
  return role === 'owner' || role === 'admin';
}
