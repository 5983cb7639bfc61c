// The product's controllers, one folder per kind.
import type { ControllerRegistration } from '../operator.ts';
import { connectionController } from './connection/index.ts';
import { federationController } from './federation/index.ts';

export const controllers: ControllerRegistration[] = [federationController, connectionController];
