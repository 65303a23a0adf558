/**
 * Pure configuration logic of the native stack (no I/O; unit-tested), one module per job:
 * services.ts (ids, order, groups: from the stack catalog), ports.ts, layout.ts, kafkaConfig.ts,
 * airflowConfig.ts, versions.ts, memory.ts. This module gathers them for the callers.
 */
export * from './services';
export * from './ports';
export * from './layout';
export * from './kafkaConfig';
export * from './airflowConfig';
export * from './versions';
export * from './memory';
export { type AirflowMajor, airflowName, otherAirflow, parseAirflowMajor } from '../airflowVersion';
export { DEFAULT_SCALE, MAX_SCALE, parseScale, type StackScale } from '../scale';
