/**
 * The width and height of one PNG image (size INT32 [2]). A request whose bytes are not a PNG is
 * the client's mistake: ModelInputError makes it a 400, not a server error.
 */
import { ModelInputError, type OutputTensors, type Tensors } from 'infergate/model';
import { PNG } from 'pngjs';

export function execute(inputs: Tensors): OutputTensors {
  const [bytes] = inputs['image']!.data as Uint8Array[];
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes!));
  } catch {
    throw new ModelInputError('the image is not a PNG that can be decoded');
  }
  return { size: { datatype: 'INT32', shape: [2], data: [png.width, png.height] } };
}
