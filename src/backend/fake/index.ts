/** In-process fake backend for other modules' unit tests. */
export { FakeBackend, type FakeBackendOptions, FakeLoadedModel } from './backend.js';
export { FakeInstance } from './instance.js';
export { addOneModel, type FakeModelDef, identityCompute, identityModel } from './models.js';
