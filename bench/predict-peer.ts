/**
 * The shape of one row of the predict benchmark (bench/predict.ts): a peer that turns texts into
 * probabilities. In its own file so the peers measured elsewhere (bench/onnx-peers.ts) and the
 * suite that tables them import it without importing each other.
 */
/** One row of the table: something that turns texts into probabilities. */
export interface PredictPeer {
  key: string;
  model: 'textcnn' | 'gru';
  engine: string;
  /** The model folder (native rows), for its size and memory. */
  dir?: string;
  /** What the peer is given: 'strings' (tokenisation counted) or 'ids'. */
  input: 'strings' | 'ids';
  call: 'sync' | 'async';
  /** One text's probabilities. */
  predictOne(text: string): unknown | Promise<unknown>;
  /** A batch's probabilities. */
  predictBatch(texts: string[]): unknown | Promise<unknown>;
}
