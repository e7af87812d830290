/** What a connector's charger and its site coupling need of the connector's session (a StationParty is one, once started). */
export interface ConnectorSession {
  /** The session as it stands; one restored from the journal may already be charging. */
  readonly session: { phase: string; stopReason?: unknown };
  on(event: string, listener: (payload: unknown) => void): unknown;
  off(event: string, listener: (payload: unknown) => void): unknown;
}

/** Whether the session was restored from the journal while charging: it goes on charging. */
export function restoredCharging(party: ConnectorSession): boolean {
  return party.session.phase === 'charging' && !party.session.stopReason;
}
