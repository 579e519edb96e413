/**
 * OpenTelemetry tracing of inference requests. Spans: the request (SERVER, continuing the
 * caller's W3C traceparent), its queue wait and response encoding (children), and one span per
 * executed batch (child of the batch's first traced request, linked to every traced request in
 * it). Off by default; while off the protocol layer makes one boolean check (`tracing.on`) and
 * no span object is created. A malformed traceparent is ignored: the request starts a new trace.
 * Export: OTLP over HTTP/protobuf configured by the standard OTEL_EXPORTER_OTLP_* variables,
 * `console` for debugging, or an exporter injected by tests (exported synchronously).
 */
import {
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { parseTraceParent, TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { RequestTrace } from '../core/index.js';
import { settingsFromEnv, TraceControl } from './trace-control.js';

/** Options of {@link Tracing}. */
export interface TracingOptions {
  /** Environment to read OTEL_* from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Exporter to use instead of the environment's (tests: InMemorySpanExporter); spans export as they end. */
  exporter?: SpanExporter;
  /** service.version resource attribute. */
  serviceVersion?: string;
}

/** The protocol a traced request arrived on, for span names and attributes. */
export type TracedProtocol = 'http' | 'grpc';

/** Tracing for the process: settings, sampling, and span creation. */
export class Tracing {
  readonly control: TraceControl;
  private provider: BasicTracerProvider | undefined;
  private tracer: Tracer | undefined;

  constructor(private readonly options: TracingOptions = {}) {
    const { settings, parentBased } = settingsFromEnv(options.env ?? process.env);
    this.control = new TraceControl(settings, parentBased);
  }

  /** The hot-path check: false unless some trace_level is on. */
  get on(): boolean {
    return this.control.on;
  }

  /**
   * Starts the request span when the request is sampled; undefined otherwise (no span made).
   * `model` is the name the client asked for, used only to find per-model trace settings.
   */
  startRequest(
    protocol: TracedProtocol,
    model: string,
    traceparent?: string,
    tracestate?: string,
  ): RequestSpan | undefined {
    const parent = traceparent ? remoteParent(traceparent, tracestate) : undefined;
    const sampled = parent === undefined ? undefined : (parent.traceFlags & TraceFlags.SAMPLED) !== 0;
    if (!this.control.sample(model, sampled)) return undefined;
    const tracer = this.getTracer();
    const parentCtx = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    const name = protocol === 'http' ? 'POST /v2/models/{model}/infer' : 'inference.GRPCInferenceService/ModelInfer';
    const attributes =
      protocol === 'http'
        ? { 'http.request.method': 'POST', 'http.route': '/v2/models/{model}/infer' }
        : { 'rpc.system': 'grpc', 'rpc.service': 'inference.GRPCInferenceService', 'rpc.method': 'ModelInfer' };
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parentCtx);
    return new RequestSpan(tracer, span, protocol);
  }

  /** Records one executed batch; `traces` are the batch's traced requests (at least one). */
  batch(
    traces: readonly RequestTrace[],
    startMs: number,
    endMs: number,
    batchSize: number,
    model: string,
    version: string,
  ): void {
    const spans = traces.filter((t): t is RequestSpan => t instanceof RequestSpan);
    const first = spans[0];
    if (!first) return;
    const links: Link[] = spans.map((s) => ({ context: s.span.spanContext() }));
    const span = this.getTracer().startSpan(
      'batch execution',
      {
        kind: SpanKind.INTERNAL,
        startTime: startMs,
        links,
        attributes: {
          'infergate.model.name': model,
          'infergate.model.version': version,
          'infergate.batch.size': batchSize,
        },
      },
      first.context,
    );
    span.end(endMs);
  }

  /** Flushes and stops the exporter. */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }

  private getTracer(): Tracer {
    if (this.tracer) return this.tracer;
    const resource = resourceFromAttributes({
      'service.name': 'infergate',
      ...(this.options.serviceVersion ? { 'service.version': this.options.serviceVersion } : {}),
    }).merge(detectResources({ detectors: [envDetector] }));
    const injected = this.options.exporter;
    const processor = injected
      ? new SimpleSpanProcessor(injected)
      : new BatchSpanProcessor(envExporter(this.options.env ?? process.env));
    this.provider = new BasicTracerProvider({ resource, sampler: new AlwaysOnSampler(), spanProcessors: [processor] });
    this.tracer = this.provider.getTracer('infergate', this.options.serviceVersion);
    return this.tracer;
  }
}

/** OTEL_TRACES_EXPORTER=console prints spans; anything else exports OTLP over HTTP/protobuf. */
function envExporter(env: Record<string, string | undefined>): SpanExporter {
  return (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'console'
    ? new ConsoleSpanExporter()
    : new OTLPTraceExporter();
}

/** The caller's span context from a traceparent header, or undefined when it is malformed. */
function remoteParent(traceparent: string, tracestate: string | undefined): SpanContext | undefined {
  const sc = parseTraceParent(traceparent);
  if (!sc) return undefined;
  sc.isRemote = true;
  if (tracestate) {
    try {
      sc.traceState = new TraceState(tracestate);
    } catch {
      // A bad tracestate is dropped; the trace still continues.
    }
  }
  return sc;
}

/** One sampled request's span and the stages recorded under it. */
export class RequestSpan implements RequestTrace {
  readonly traceId: string;
  readonly context: Context;

  constructor(
    private readonly tracer: Tracer,
    readonly span: Span,
    private readonly protocol: TracedProtocol,
  ) {
    this.traceId = span.spanContext().traceId;
    this.context = trace.setSpan(ROOT_CONTEXT, span);
  }

  /** Sets the model/version attributes once the router resolved them. */
  resolved(model: string, version: string): void {
    this.span.setAttributes({ 'infergate.model.name': model, 'infergate.model.version': version });
  }

  /** Records the queue wait as a child span. */
  queued(startMs: number, endMs: number): void {
    this.child('queue wait', startMs, endMs);
  }

  /** Records response encoding (and compression) as a child span. */
  encoded(startMs: number, endMs: number): void {
    this.child('response encoding', startMs, endMs);
  }

  /** Ends the request span: `status` is the HTTP status or gRPC code; `error` when it failed. */
  end(status: number, error?: string): void {
    this.span.setAttribute(this.protocol === 'http' ? 'http.response.status_code' : 'rpc.grpc.status_code', status);
    if (error !== undefined) this.span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.span.end();
  }

  private child(name: string, startMs: number, endMs: number): void {
    this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: startMs }, this.context).end(endMs);
  }
}
