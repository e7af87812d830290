export { Clock, systemClock } from './clock';
export { BELOW_MINIMUM_CURRENT, Evse, EvseMode, EvseStatus, IEC_MIN_CURRENT_A, IecState, Pausable } from './types';
export { CurrentRange, EvseControl } from './control';
export { SimulatedEvse, SimulatedEvseOptions, SimulatedVehicle } from './simulated';
export { MqttCommand, MqttCommandEvse, MqttCommandEvseOptions, MqttEvseProtocol } from './mqtt-command';
export { Watchdog, WatchdogOptions } from './watchdog';
export { CreditDecision, CreditGate, CreditPolicy, completedIncrements, decideCredit } from './credit-gate';
export { ConnectorSession } from './connector-session';
export { ChargedSession, ChargerCommandError, ChargerCommandErrorCode, SessionCharger, SessionChargerOptions } from './session-charger';
