/** Checks the request against the resolved version's signature (router/validate.ts has the rules). */
import { need, type Stage } from '../pipeline.js';
import { validateInputs, validateOutputs } from '../validate.js';

export const validate: Stage = (next) => (x) => {
  const { spec } = need(x.target, 'target', 'validate').primary;
  const request = x.inputs === undefined ? x.request : { ...x.request, inputs: x.inputs };
  validateOutputs(spec, request);
  x.validated = validateInputs(spec, request);
  return next(x);
};
