import { ConnectorSession, restoredCharging } from '../evse/connector-session';
import { BELOW_MINIMUM_CURRENT, Evse, EvseStatus } from '../evse/types';
import type { ConnectorShare, SiteBudget } from './budget';

/**
 * Couples one connector's session and charger to the site budget: the session asks for power when its channel
 * opens and gives it back when it stops; a charger held paused for any reason of its own (the credit gate, the
 * watchdog, the operator) lends its current to the others until it draws again; and the charger's current limit
 * follows the connector's share. The vehicle pays per metered Wh, so a lower share costs it nothing: it only
 * takes longer.
 */
export class ConnectorCoupling {
  private readonly sessionListeners: [string, (payload: unknown) => void][] = [
    ['opened', () => this.budget.start(this.connectorId)],
    ['stopping', () => this.budget.stop(this.connectorId)],
    ['settled', () => this.budget.stop(this.connectorId)],
  ];
  private readonly onShare = (share: ConnectorShare) => {
    if (share.connectorId === this.connectorId) this.evse.setCurrentLimit(share.currentA);
  };
  private readonly onStatus = (status: EvseStatus) => {
    const held = status.pauseReasons.some((reason) => reason !== BELOW_MINIMUM_CURRENT);
    if (held) this.budget.pause(this.connectorId);
    else this.budget.resume(this.connectorId);
  };

  constructor(
    private readonly budget: SiteBudget,
    readonly connectorId: string,
    private readonly session: ConnectorSession,
    private readonly evse: Evse,
  ) {
    budget.on('share', this.onShare);
    evse.on('status', this.onStatus);
    for (const [event, listener] of this.sessionListeners) session.on(event, listener);
    // No current until the budget gives some; a session restored mid-charge asks again.
    evse.setCurrentLimit(budget.shareOf(connectorId).currentA);
    if (restoredCharging(session)) budget.start(connectorId);
  }

  /** Uncouples; the connector's share goes back to the site. */
  close(): void {
    this.budget.off('share', this.onShare);
    this.evse.off('status', this.onStatus);
    for (const [event, listener] of this.sessionListeners) this.session.off(event, listener);
    this.budget.stop(this.connectorId);
  }
}
