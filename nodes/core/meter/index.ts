export { Meter, MeterReading, toRegisterWh } from './reading';
export {
  DEFAULT_TEMPERATURE_RULE,
  DEFAULT_W1_DIRECTORY,
  Ds18b20Error,
  Ds18b20ErrorCode,
  Ds18b20Meter,
  Ds18b20MeterOptions,
  TemperatureRule,
  powerFromTemperature,
} from './ds18b20';
export { SimulatedMeter, SimulatedMeterOptions } from './simulated';
export { EnergyUnit, MeterInputError, MeterInputErrorCode, MsgInputMeter, MsgInputMeterOptions } from './msg-input';
export { maxPlausibleWh } from './plausibility';
export { MeterSupply, NotSimulatedError, PolledMeter, PolledMeterOptions, ds18b20Supply, pollIntervalMs, simulatedSupply } from './polled';
export { RegisterFile } from './register-file';
