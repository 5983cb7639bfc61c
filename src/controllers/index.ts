// The product's controllers, one folder per kind. GitLabAwsFederation (#3)
// and GitLabConnection (#4) register here as they land.
import type { ControllerRegistration } from '../operator.ts';

export const controllers: ControllerRegistration[] = [];
