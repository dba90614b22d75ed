/** Typed failures of `hearth bootstrap` (one line each; OperationError → exit code 1). */
import { OperationError } from '../../common/errors.js';
import { seconds } from './clock.js';

/** A node that did not reach `running` in time: its name, its last stage and how long hearth waited. */
export class NodeLostError extends OperationError {
  override name = 'NodeLostError';
  constructor(
    readonly machine: string,
    readonly lastStage: string,
    readonly waitedMs: number,
    detail = '',
  ) {
    super(`${machine}: never came back — last stage ${lastStage}, waited ${seconds(waitedMs)}${detail ? ` (${detail})` : ''}`);
  }
}

/** The run was interrupted (Ctrl-C); what was applied stays applied and a rerun continues. */
export class InterruptedError extends OperationError {
  override name = 'InterruptedError';
  constructor() {
    super('interrupted; nodes keep installing what was applied — run hearth bootstrap again to continue');
  }
}

/** A health check that did not pass before the deadline. */
export class HealthTimeoutError extends OperationError {
  override name = 'HealthTimeoutError';
}
