/** OrtExecutionSettings → the onnxruntime session options the worker applies. */
import type { OrtExecutionSettings } from './execution-settings.js';
import type { OrtSessionOptions } from './messages.js';

/** Maps a version's onnxruntime settings to session options; spinning is off unless asked for. */
export function sessionOptions(e: OrtExecutionSettings): OrtSessionOptions {
  const spin = e.spinning ? '1' : '0';
  return {
    intraOpNumThreads: e.intraOpThreads,
    interOpNumThreads: e.interOpThreads,
    graphOptimizationLevel: e.graphOptimizationLevel,
    executionMode: e.executionMode,
    enableCpuMemArena: e.enableMemArena,
    enableMemPattern: e.enableMemPattern,
    executionProviders: e.executionProviders.length > 0 ? [...e.executionProviders] : ['cpu'],
    // Session config entries (onnxruntime_session_options_config_keys.h); the Node binding
    // flattens `extra` keys into AddConfigEntry calls, values must be strings.
    extra: { 'session.intra_op.allow_spinning': spin, 'session.inter_op.allow_spinning': spin },
  };
}
