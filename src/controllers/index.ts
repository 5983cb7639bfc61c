// The product's controllers, one folder per kind, built on one set of shared clients.
import type { ControllerFactory, RuntimeDeps } from '../runtime/process/registration.ts';
import { connectionController } from './connection/index.ts';
import { federationController } from './federation/index.ts';
import { type ProductSettings, productDeps } from './shared/registration.ts';

export function productControllers(settings: ProductSettings): ControllerFactory {
  return (runtime: RuntimeDeps) => {
    const deps = productDeps(runtime, settings);
    return [federationController(deps), connectionController(deps)];
  };
}
