/** KServe v2 REST protocol: the server factory and the pure codecs other entry points may reuse. */
export { decodeInferRequest, type DecodedInfer, type InferDecodeLimits } from './infer-codec-request.js';
export { encodeInferResponse, type EncodedInfer, type OutputFormat } from './infer-codec-response.js';
export { stringifyJson } from './json.js';
export { createHttpServer, type HttpServer, type HttpServerOptions } from './server.js';
