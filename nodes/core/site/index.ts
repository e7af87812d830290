/** A charging site: connectors that share one power budget. */
export { ConnectorShare, ConnectorState, SiteBudget, SiteBudgetOptions, SiteSnapshot, waterFill } from './budget';
export { ConnectorCoupling } from './coupling';
