/**
 * A tiny ONNX graph builder shared by the exports (export-student.ts, export-teacher.ts): nodes
 * get unique names and auto-named outputs, constants become initializers. It only collects
 * NodeDef/TensorDef records; proto.ts serialises them.
 */
import type { NodeDef, TensorDef } from './proto';

export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly initializers: TensorDef[] = [];
  private counter = 0;

  constant(t: TensorDef): string {
    this.initializers.push(t);
    return t.name;
  }

  /** Adds a node with one output (auto-named unless given) and returns that output's name. */
  add(opType: string, inputs: string[], options: { outputs?: string[]; attributes?: NodeDef['attributes'] } = {}): string {
    const outputs = options.outputs ?? [`${opType.toLowerCase()}_${this.counter}`];
    this.nodes.push({ opType, inputs, outputs, name: `${opType}_${this.counter++}`, attributes: options.attributes });
    return outputs[0];
  }

  /** Adds a node with `count` outputs, all but the last left unnamed (= not computed), and returns their names. */
  addMulti(opType: string, inputs: string[], count: number, attributes: NodeDef['attributes']): string[] {
    const id = this.counter++;
    const outputs = Array.from({ length: count }, (_, i) => (i === count - 1 ? `${opType.toLowerCase()}_${id}_out${i}` : ''));
    this.nodes.push({ opType, inputs, outputs, name: `${opType}_${id}`, attributes });
    return outputs;
  }
}
