export * from './clock.js';
export * from './datatype.js';
export * from './errors.js';
export * from './model.js';
export * from './request.js';
export * from './stats.js';
export * from './tensor.js';
export * from './random.js';
