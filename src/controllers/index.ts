// The product's controllers, one folder per kind. GitLabConnection (#4)
// registers here when it lands.
import type { ControllerRegistration } from '../operator.ts';
import { federationController } from './federation/index.ts';

export const controllers: ControllerRegistration[] = [federationController];
